package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One host's sessions take every file descriptor the agent's limit allows: the next host is still
 * answered, told on id 0 why it cannot be served, and closed (it hung in the backlog with no answer
 * before), and once the sessions end hosts are served again.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DescriptorExhaustionE2ETest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void aHostArrivingWhenTheAgentHasNoDescriptorLeftIsToldWhyAndLaterHostsAreServedAgain() throws Exception {
        try (AgentProcess agent = AgentProcess.start("fd-exhaustion");
                HostConnection first = agent.connectReady()) {
            int started = sessionsUntilRefused(agent, first, leaveTwentyFourDescriptors(agent));

            // The failed spawn may have left a descriptor or two free, and one may come free after
            // its failure was answered (a fresh-clone CI run saw a host served after one had been
            // refused): hosts that take them are served and kept, each holding its descriptor, so
            // free ones run out; each host that finds none is told why.
            java.util.List<HostConnection> served = new java.util.ArrayList<>();
            int refused = 0;
            try {
                for (int i = 0; i < 20 && refused < 3; i++) {
                    HostConnection late = agent.connect();
                    Frame f = late.next(0, WAIT);
                    assertNotNull(f, "host " + i + " got no answer");
                    if (f.type() == MessageType.CORE_READY) {
                        served.add(late);
                        continue;
                    }
                    late.close();
                    assertEquals(MessageType.CORE_ERROR, f.type(), f.toString());
                    ErrorPayload e = (ErrorPayload) f.payload();
                    assertEquals("invalid_session", e.kind());
                    assertTrue(e.message().contains("file descriptor"), e.message());
                    refused++;
                }
            } finally {
                for (HostConnection h : served) {
                    h.close();
                }
            }
            assertEquals(3, refused, "hosts told there is no descriptor for them");
            assertTrue(agent.logText().contains("refused a connection on"), agent.logText());

            // The first host's sessions end with it; a new host is served again.
            for (int id = 1; id <= started; id++) {
                first.send(new Frame(id, MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(9)));
            }
            for (int id = 1; id <= started; id++) {
                first.expect(id, MessageType.EXEC_EXITED);
            }
            try (HostConnection again = agent.connectReady()) {
                again.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
                again.expect(1, MessageType.CORE_PONG);
            }
        }
    }

    /**
     * Every jar of the class path is open once the agent serves, on an AppCDS archive as the guest
     * and scripts/cds-archive give it one. There start-up's classes come from the archive and their
     * jars stayed closed until a class outside it was needed: the first spawn refused EMFILE needed
     * FailureKind, could not open protocol.jar, and the agent ended (exit 3) instead of answering
     * resource_limit as above (found running the test above on an archive; this module's tests
     * otherwise run without one, and without one the JVM opens each jar as it searches them). The
     * archive here is made the way scripts/cds-archive makes one, from the classes a start loads.
     */
    @Test
    void everyJarOfItsClassPathIsOpenOnceTheAgentServesOnAnArchive() throws Exception {
        Path dist = Path.of(System.getProperty("user.dir"), "target/dist");
        java.util.Set<Path> jars = new java.util.TreeSet<>();
        try (Stream<Path> lib = Files.list(dist.resolve("lib"))) {
            for (Path jar : (Iterable<Path>) lib::iterator) {
                if (jar.toString().endsWith(".jar")) {
                    jars.add(jar.toRealPath());
                }
            }
        }
        assertTrue(jars.size() > 3, "the dist's jars: " + jars);
        Path work = Files.createTempDirectory(Files.createDirectories(dist.resolveSibling("e2e")), "archive-");
        Path classList = work.resolve("classlist");
        try (AgentProcess training = AgentProcess.startWithJavaOpts("archive-training",
                "-XX:DumpLoadedClassList=" + classList); HostConnection host = training.connectReady()) {
            host.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(1, MessageType.CORE_PONG);
        }
        Path archive = work.resolve("agentd.jsa");
        ProcessBuilder dump = new ProcessBuilder(AgentProcess.LAUNCHER.toString()).redirectErrorStream(true)
                .redirectOutput(work.resolve("dump.log").toFile());
        dump.environment().put("AGENTD_HOME", dist.toString());
        dump.environment().put("JAVA_OPTS", "-Xshare:dump -XX:SharedClassListFile=" + classList
                + " -XX:SharedArchiveFile=" + archive);
        Process dumping = dump.start();
        assertTrue(dumping.waitFor(60, TimeUnit.SECONDS) && dumping.exitValue() == 0,
                "the dump failed: " + Files.readString(work.resolve("dump.log")));
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("jars-open",
                "-Xshare:on -XX:SharedArchiveFile=" + archive);
                HostConnection host = agent.connectReady()) {
            // They are opened on a thread of their own beside the start: within milliseconds of it.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            java.util.Set<Path> open = openJars(agent.pid(), jars);
            while (!open.equals(jars) && System.nanoTime() < deadline) {
                Thread.sleep(20);
                open = openJars(agent.pid(), jars);
            }
            assertEquals(jars, open, "the agent's open jars");

            // And what it was for: on the archive, sessions until the limit is reached are answered
            // resource_limit, and the agent still serves (it ended with exit 3 before).
            sessionsUntilRefused(agent, host, leaveTwentyFourDescriptors(agent));
            host.send(new Frame(100, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(100, MessageType.CORE_PONG);
        }
    }

    /** Lowers the agent's open-file limit (soft and hard) to what it has open and 24 more; the limit. */
    private static long leaveTwentyFourDescriptors(AgentProcess agent) throws Exception {
        long open;
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(agent.pid()), "fd"))) {
            open = fds.count();
        }
        long limit = open + 24;
        Process prlimit = new ProcessBuilder("prlimit", "--pid", Long.toString(agent.pid()),
                "--nofile=" + limit + ":" + limit).inheritIO().start();
        assertTrue(prlimit.waitFor(10, TimeUnit.SECONDS) && prlimit.exitValue() == 0, "prlimit failed");
        return limit;
    }

    /**
     * Sessions until one fails for want of descriptors, each answered: started, or failed
     * resource_limit (the last). How many started.
     */
    private static int sessionsUntilRefused(AgentProcess agent, HostConnection host, long limit) throws Exception {
        int started = 0;
        for (int id = 1; id <= 40; id++) {
            host.exec(id, ExecRequest.of("sleep", "600"));
            Frame f = host.next(id, WAIT);
            assertNotNull(f, "no answer to exec " + id + "; the agent's log:\n" + agent.logText());
            if (f.type() == MessageType.EXEC_FAILED) {
                assertEquals("resource_limit", ((ExecFailed) f.payload()).kind(), f.toString());
                return started;
            }
            assertEquals(MessageType.EXEC_STARTED, f.type());
            started++;
        }
        throw new AssertionError("40 sessions within a limit of " + limit + " descriptors");
    }

    /** Which of {@code jars} the process has open. */
    private static java.util.Set<Path> openJars(long pid, java.util.Set<Path> jars) throws java.io.IOException {
        java.util.Set<Path> open = new java.util.TreeSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (jars.contains(target)) {
                        open.add(target);
                    }
                } catch (java.io.IOException closedMeanwhile) {
                    // an fd closed while listed: not a jar's
                }
            }
        }
        return open;
    }
}
