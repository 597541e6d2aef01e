package io.agentd.testkit.vm;

import io.agentd.testkit.GuestVm;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * scripts/agentctl as a real process against a VM's relay socket: for checks of the CLI itself (exit
 * codes, what it prints) and of several processes sharing one VM while the JVM holds a client. Needs
 * the client module built (Maven's reactor builds it before the testkit).
 */
final class Agentctl {
    static final Path SCRIPT = Path.of(System.getProperty("agentd.project.root", "..")).resolve("scripts/agentctl")
            .toAbsolutePath().normalize();
    /** A command that hangs fails its check after this (vm-test's 45 s per check). */
    static final Duration TIMEOUT = Duration.ofSeconds(45);

    /** How one agentctl run ended. */
    record Result(int exit, byte[] stdoutBytes, String stdout, String stderr) {
        @Override
        public String toString() {
            return "agentctl exited " + exit + "; stdout: " + stdout + "; stderr: " + stderr;
        }
    }

    private final Path socket;
    private final Path work;

    /** agentctl for {@code vm}; its output files go to the VM's run directory. */
    Agentctl(GuestVm vm) {
        this.socket = vm.agentSocket();
        this.work = vm.runDir();
    }

    /** The argv of {@code agentctl --socket SOCKET args...}. */
    List<String> argv(String... args) {
        List<String> argv = new ArrayList<>(List.of(SCRIPT.toString(), "--socket", socket.toString()));
        argv.addAll(List.of(args));
        return argv;
    }

    /** Runs agentctl with stdin from /dev/null and waits up to {@link #TIMEOUT}. */
    Result run(String... args) throws IOException, InterruptedException {
        return run((Path) null, args);
    }

    /** Runs agentctl with stdin from {@code stdin} (null: /dev/null) and waits up to {@link #TIMEOUT}. */
    Result run(Path stdin, String... args) throws IOException, InterruptedException {
        return await(start(stdin, args));
    }

    /** Runs agentctl with stdin from /dev/null and waits up to {@code timeout} (a long copy). */
    Result run(Duration timeout, String... args) throws IOException, InterruptedException {
        return await(start(null, args), timeout);
    }

    /** Starts agentctl (stdin /dev/null); its output goes to files that {@link #await} reads. */
    Started start(String... args) throws IOException {
        return start(null, args);
    }

    private Started start(Path stdin, String... args) throws IOException {
        Path out = Files.createTempFile(work, "agentctl-", ".out");
        Path err = Files.createTempFile(work, "agentctl-", ".err");
        ProcessBuilder pb = new ProcessBuilder(argv(args)).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.redirectInput(stdin != null ? stdin.toFile() : new File("/dev/null"));
        return new Started(pb.start(), out, err);
    }

    /** Waits for a started agentctl; kills it (and fails) after {@link #TIMEOUT}. */
    static Result await(Started started) throws IOException, InterruptedException {
        return await(started, TIMEOUT);
    }

    /** Waits for a started agentctl; kills it (and fails) after {@code timeout}. */
    static Result await(Started started, Duration timeout) throws IOException, InterruptedException {
        if (!started.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            started.process.destroyForcibly().waitFor();
            throw new AssertionError("agentctl did not end within " + timeout + "; stdout: " + read(started.out)
                    + "; stderr: " + read(started.err));
        }
        byte[] out = Files.readAllBytes(started.out);
        Files.deleteIfExists(started.out);
        return new Result(started.process.exitValue(), out, text(out), read(started.err));
    }

    private static String read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        Files.deleteIfExists(file);
        return text(bytes);
    }

    /** Output as text, CRs dropped (a PTY's line endings), as vm-test compared it. */
    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8).replace("\r", "");
    }

    /** An agentctl process that runs on while the test does something else. */
    record Started(Process process, Path out, Path err) {
        /** What it printed so far. */
        String stdoutSoFar() throws IOException {
            return Files.readString(out, StandardCharsets.UTF_8);
        }
    }
}
