package io.agentd.agent.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An agent started through the launcher the way an operator's script might: under a umask, maybe as
 * another user ({@code wrapper}, e.g. a setpriv command line), on a socket path the test chose.
 * {@link AgentProcess} is for agents started the standard way; this is for the tests of what the
 * agent does about its own surroundings (issue 14).
 */
record LaunchedAgent(Process process, Path dir, Path socket, Path log) implements AutoCloseable {
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));
    private static final Path LAUNCHER = MODULE.resolve("../scripts/agentd").normalize();
    private static final Path DIST = MODULE.resolve("target/dist");

    /** A fresh directory under target/e2e that other uids may look into. */
    static Path newDir(String name) throws IOException {
        Path dir = Files.createTempDirectory(Files.createDirectories(MODULE.resolve("target/e2e")), name + "-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    /** Runs {@code sh -c 'umask UMASK; exec WRAPPER launcher --listen unix:SOCKET ... OPTIONS'}; returns at once. */
    static LaunchedAgent launch(Path dir, String wrapper, Path socket, String umask, String... options)
            throws IOException {
        String script = "umask " + umask + "; exec " + wrapper + " \"$0\" \"$@\"";
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", script,
                LAUNCHER.toString(), "--listen", "unix:" + socket, "--state-dir", dir.resolve("state").toString()));
        cmd.addAll(List.of(options));
        Path log = dir.resolve("agent.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("AGENTD_HOME", DIST.toString());
        pb.environment().put("JAVA_OPTS", "");
        return new LaunchedAgent(pb.start(), dir, socket, log);
    }

    String logText() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
