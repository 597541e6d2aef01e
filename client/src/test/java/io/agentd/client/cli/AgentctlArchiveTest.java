package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testsupport.RunningAgent;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/agentctl with its AppCDS archive (scripts/agentctl-cds): the same output, status and
 * stderr with no archive, with a valid one (which it then starts on), with one the JVM refuses (a
 * jar's time changed behind the launcher's back) and with a stale one (a jar newer than it). A
 * copy of the client's dist in a temporary AGENTCTL_HOME, so the build's own archive is untouched.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class AgentctlArchiveTest {
    private static final Path ROOT =
            Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();
    private static final String AGENTCTL_CLASS_FROM_ARCHIVE =
            "io.agentd.client.cli.Agentctl source: shared objects file";

    @TempDir
    Path dir;

    record Run(int code, String stdout, String stderr, String classLoads) {
        @Override
        public String toString() {
            return "exit " + code + ", stdout [" + stdout + "], stderr [" + stderr + "]";
        }
    }

    @Test
    void agentctlRunsTheSameWithNoArchiveAValidOneARefusedOneAndAStaleOne() throws Exception {
        Path home = dir.resolve("dist");
        copyDist(ROOT.resolve("client/target/dist/lib"), home.resolve("lib"));
        Path archive = home.resolve("agentctl.jsa");
        Path socket = dir.resolve("agentd.sock");
        RunningAgent agentd = RunningAgent.listening(ROOT.resolve("scripts/agentd"), socket, List.of(), Map.of(),
                dir.resolve("agentd.log"));
        try {
            Process ready = new ProcessBuilder(ROOT.resolve("scripts/agentctl").toString(), "--socket",
                    socket.toString(), "wait-ready", "--timeout", "60s").inheritIO().start();
            assertTrue(ready.waitFor(90, TimeUnit.SECONDS) && ready.exitValue() == 0, "the agent came up: "
                    + Files.readString(dir.resolve("agentd.log")));
            Run none = exec(home, socket, "none");
            assertRanRight(none, "no archive");
            assertTrue(!none.classLoads().contains(AGENTCTL_CLASS_FROM_ARCHIVE), "no archive to start on");

            Process cds = new ProcessBuilder(ROOT.resolve("scripts/agentctl-cds").toString(), "--dist", home.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("agentctl-cds.log").toFile()).start();
            assertTrue(cds.waitFor(180, TimeUnit.SECONDS), "agentctl-cds finished");
            assertEquals(0, cds.exitValue(), Files.readString(dir.resolve("agentctl-cds.log")));
            assertTrue(Files.isRegularFile(archive), "agentctl-cds made " + archive);

            Run valid = exec(home, socket, "valid");
            assertRanRight(valid, "a valid archive");
            assertTrue(valid.classLoads().contains(AGENTCTL_CLASS_FROM_ARCHIVE), "started on the archive");
            assertEquals(List.of(), classesFromJars(valid.classLoads()), "exec: every class from the archive");
            // Two call sites of one shape (two parser::getLongValue in CborReader) each need their own
            // archived lambda class: the training's merged list once kept only one.
            assertEquals(List.of(), lambdasSpun(valid.classLoads()), "exec: no lambda class spun at run time");
            // A refusal's classes are in the archive too: an exec sometimes gets one (its end of
            // stdin arriving after the command's exit), and a class from a jar opens every jar.
            Run refusedAttach = run(home, socket, "attach", List.of("attach", "4000000000"));
            assertEquals(126, refusedAttach.code(), "attach to an unknown session: " + refusedAttach);
            assertTrue(refusedAttach.stderr().contains("invalid_session"), refusedAttach.toString());
            assertEquals(List.of(), classesFromJars(refusedAttach.classLoads()), "attach refused: every class from the archive");

            Path tree = Files.createDirectories(dir.resolve("tree/sub"));
            Files.writeString(tree.resolve("file"), "a file\n");
            Run up = run(home, socket, "cp-up", List.of("cp", dir.resolve("tree").toString(), ":" + dir.resolve("tree-up")));
            assertEquals(0, up.code(), "cp of a directory up: " + up);
            Run down = run(home, socket, "cp-down", List.of("cp", ":" + dir.resolve("tree-up"), dir.resolve("tree-down").toString()));
            assertEquals(0, down.code(), "cp of a directory down: " + down);
            assertEquals("a file\n", Files.readString(dir.resolve("tree-down/sub/file")));
            for (Run cp : List.of(up, down)) {
                assertEquals(List.of(), classesFromJars(cp.classLoads()), "cp: every class from the archive");
                assertEquals(List.of(), lambdasSpun(cp.classLoads()), "cp: no lambda class spun at run time");
            }

            assertRelayStartsOnItsOwnArchive(home, socket);

            // The launcher sees nothing wrong (no jar newer than the archive); the JVM sees a jar's
            // time differ from the one it recorded and refuses the archive, silently.
            Path clientJar = home.resolve("lib/client.jar");
            FileTime archiveTime = Files.getLastModifiedTime(archive);
            Files.setLastModifiedTime(clientJar, FileTime.fromMillis(archiveTime.toMillis() - 60_000));
            Run refused = exec(home, socket, "refused");
            assertRanRight(refused, "an archive the JVM refuses");
            assertTrue(!refused.classLoads().contains(AGENTCTL_CLASS_FROM_ARCHIVE), "the archive was refused");

            Files.setLastModifiedTime(clientJar, FileTime.fromMillis(archiveTime.toMillis() + 60_000));
            Run stale = exec(home, socket, "stale");
            assertRanRight(stale, "a stale archive");
            assertTrue(!stale.classLoads().contains(AGENTCTL_CLASS_FROM_ARCHIVE), "the stale archive was skipped");
            // Skipped by the launcher, so the JDK's own archive still serves (a refusal would drop it too).
            assertTrue(stale.classLoads().contains("java.lang.Object source: shared objects file"),
                    "the JDK's archive still used");
        } finally {
            agentd.stop(Duration.ofSeconds(10));
        }
    }

    /**
     * The relay starts on agentctl-relay.jsa, which agentctl-cds dumps from a relay's run: its own
     * classes (the relay loop, jnr-ffi's splice binding) come from that archive, not from the jars, and
     * the commands' archive does not carry them.
     */
    private void assertRelayStartsOnItsOwnArchive(Path home, Path agentSocket) throws Exception {
        assertTrue(Files.isRegularFile(home.resolve("agentctl-relay.jsa")), "agentctl-cds made the relay's archive");
        Path relaySocket = dir.resolve("relay.sock");
        Path classLoads = dir.resolve("relay.classes");
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("scripts/agentctl").toString(), "relay", "--port",
                agentSocket.toString(), "--listen", relaySocket.toString())
                .redirectInput(new File("/dev/null"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("relay.log").toFile());
        pb.environment().put("AGENTCTL_HOME", home.toString());
        pb.environment().put("AGENTCTL_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLoads);
        Process relay = pb.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(relaySocket) && relay.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Run through = run(home, relaySocket, "through-relay",
                    List.of("--ready-timeout", "60s", "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3"));
            assertRanRight(through, "an exec through the relay");
        } finally {
            relay.destroy(); // SIGTERM, as boot stops it
            assertTrue(relay.waitFor(30, TimeUnit.SECONDS), "the relay ended on SIGTERM");
        }
        String loads = Files.readString(classLoads);
        assertTrue(loads.contains("io.agentd.client.relay.RelayLoop source: shared objects file"),
                "the relay started on its archive: " + Files.readString(dir.resolve("relay.log")));
        assertEquals(List.of(), classesFromJars(loads).stream().filter(line -> line.contains("io.agentd.")).toList(),
                "the relay's own classes from its archive");
        String commandsList = Files.readString(home.resolveSibling("cds-work").resolve("classlist"));
        assertTrue(!commandsList.contains("io/agentd/client/relay/RelayLoop"), "the commands' archive has no relay class");
        assertTrue(!commandsList.contains("jnr/ffi/"), "the commands' archive has no jnr-ffi class");
    }

    private static void assertRanRight(Run run, String what) {
        assertEquals(3, run.code(), what + ": " + run);
        assertEquals("out\n", run.stdout(), what + ": " + run);
        assertEquals("err\n", run.stderr(), what + ": nothing but the command's stderr: " + run);
    }

    /** The class-loading log's lines for classes read from a jar rather than mapped from an archive. */
    private static List<String> classesFromJars(String classLoads) {
        return classLoads.lines().filter(line -> line.contains("source: file:") || line.contains("source: jar:"))
                .toList();
    }

    /** The class-loading log's lines for lambda classes made at run time (with ASM) rather than mapped. */
    private static List<String> lambdasSpun(String classLoads) {
        return classLoads.lines().filter(line -> line.contains("$$Lambda$") && !line.contains("source: shared objects file"))
                .toList();
    }

    /** agentctl exec of a command with output on both streams and status 3, its class loads logged. */
    private Run exec(Path home, Path socket, String name) throws Exception {
        return run(home, socket, name, List.of("exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3"));
    }

    /** agentctl with these arguments, its class loads logged. */
    private Run run(Path home, Path socket, String name, List<String> arguments) throws Exception {
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        Path classLoads = dir.resolve(name + ".classes");
        List<String> command = new ArrayList<>(
                List.of(ROOT.resolve("scripts/agentctl").toString(), "--socket", socket.toString()));
        command.addAll(arguments);
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        pb.environment().put("AGENTCTL_HOME", home.toString());
        pb.environment().put("AGENTCTL_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLoads);
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("agentctl (" + name + ") did not finish");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err), Files.readString(classLoads));
    }

    private static void copyDist(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> jars = Files.list(from)) {
            for (Path jar : (Iterable<Path>) jars::iterator) {
                Files.copy(jar, to.resolve(jar.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }
}
