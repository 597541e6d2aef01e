package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.relay.IdRange;
import io.agentd.client.relay.RawClient;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.testsupport.RunningAgent;
import java.io.File;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code agentctl relay} as scripts/guest/boot runs it, in front of a real agentd (its unix socket
 * stands in for the VM's port), with separate agentctl processes as its clients.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentctlRelayEndToEndTest {
    private static final Path ROOT =
            Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();
    private static final Path AGENTCTL = ROOT.resolve("scripts/agentctl");

    /** A line of the relay's, stamped with the time in agentd's format (2026-12-04T07:01:34.370Z), at {@code level}. */
    private static java.util.regex.Pattern stamped(String level) {
        return java.util.regex.Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}(Z|[+-]\\d{2}:\\d{2}) "
                + level + " Relay - relay: .*");
    }

    /** Whether every line the relay wrote is stamped, whatever its level. */
    private static boolean allStamped(String said) {
        java.util.regex.Pattern any = stamped("(INFO|WARN|ERROR)");
        return said.lines().allMatch(l -> any.matcher(l).matches());
    }

    private static Process agentctl(Path dir, String name, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(AGENTCTL.toString()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectError(dir.resolve(name + ".err").toFile())
                .start();
    }

    /**
     * agentctl relay as a process, with the port it serves when the test made one; closing it stops
     * the relay (SIGTERM: what its loop logged is in relay.err then) and waits for it.
     */
    private record RelayProcess(Process process, ServerSocketChannel vm) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            try {
                process.destroy();
                process.waitFor(30, TimeUnit.SECONDS);
            } finally {
                if (vm != null) {
                    vm.close();
                }
            }
        }
    }

    /**
     * agentctl relay on a port nobody answers (bound here: the relay's connection waits in its
     * backlog, no agent needed), once its socket is there.
     */
    private static RelayProcess relayWithNoAgent(Path dir, Path relaySocket) throws Exception {
        Path port = dir.resolve("port.sock");
        ServerSocketChannel vm = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        RelayProcess relay = new RelayProcess(null, vm);
        try {
            vm.bind(UnixDomainSocketAddress.of(port));
            relay = new RelayProcess(agentctl(dir, "relay", "relay", "--port", port.toString(), "--listen",
                    relaySocket.toString()), vm);
            while (!Files.exists(relaySocket)) {
                assertTrue(relay.process().isAlive(), Files.readString(dir.resolve("relay.err")));
                Thread.sleep(20);
            }
            return relay;
        } catch (Exception | Error e) {
            if (relay.process() == null) {
                vm.close();
            } else {
                relay.close();
            }
            throw e;
        }
    }

    /** agentctl relay in front of the agent listening on {@code port}, once a client of it has the agent's ready. */
    private static RelayProcess relayInFrontOf(Path dir, Path port, Path relaySocket) throws Exception {
        RelayProcess relay = new RelayProcess(agentctl(dir, "relay", "relay", "--port", port.toString(), "--listen",
                relaySocket.toString()), null);
        try {
            Process ready = agentctl(dir, "ready", "--socket", relaySocket.toString(), "wait-ready", "--timeout", "30s");
            assertEquals(0, exitOf(ready), Files.readString(dir.resolve("ready.err")));
            return relay;
        } catch (Exception | Error e) {
            relay.close();
            throw e;
        }
    }

    private static int exitOf(Process p) throws Exception {
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("agentctl did not finish");
        }
        return p.exitValue();
    }

    @Test
    void eightAgentctlsShareOneAgentThroughTheRelayWhichEndsWhenTheAgentGoes(@TempDir Path dir) throws Exception {
        Path port = dir.resolve("port.sock");
        Path relaySocket = dir.resolve("agent.sock");
        try (RunningAgent agent = RunningAgent.listening(ROOT.resolve("scripts/agentd"), port, List.of(), Map.of(),
                dir.resolve("agentd.log"))) {
            agent.awaitSocket();
            Process relay = agentctl(dir, "relay", "relay", "--port", port.toString(), "--listen", relaySocket.toString());
            try {
                Process ready = agentctl(dir, "ready", "--socket", relaySocket.toString(), "wait-ready", "--timeout", "30s");
                assertEquals(0, exitOf(ready), Files.readString(dir.resolve("ready.err")));

                List<Process> execs = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int n = 0; n < 8; n++) {
                    execs.add(agentctl(dir, "exec" + n, "--socket", relaySocket.toString(), "exec", "--", "sh", "-c",
                            "sleep 2; echo " + n));
                }
                for (int n = 0; n < 8; n++) {
                    assertEquals(0, exitOf(execs.get(n)), Files.readString(dir.resolve("exec" + n + ".err")));
                    assertEquals(n + "\n", Files.readString(dir.resolve("exec" + n + ".out")));
                }
                System.out.printf("8 agentctl exec 'sleep 2' through the relay together: %.1f s of wall time%n",
                        (System.nanoTime() - t0) / 1e9);

                Process running = agentctl(dir, "running", "--socket", relaySocket.toString(), "exec", "--",
                        "sh", "-c", "echo started; sleep 60");
                for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                        !Files.readString(dir.resolve("running.out")).contains("started"); ) {
                    assertTrue(System.nanoTime() < deadline, "the command started");
                    Thread.sleep(20);
                }
                agent.process().destroyForcibly();
                assertEquals(125, exitOf(running), "agentctl: the connection is lost");
                assertEquals(1, exitOf(relay), "the relay ends when the VM's port goes");
                String said = Files.readString(dir.resolve("relay.err"));
                assertTrue(said.lines().anyMatch(l -> stamped("ERROR").matcher(l).matches()
                        && l.endsWith("; every client was closed")), said);
                assertTrue(!Files.exists(relaySocket), "the relay removed its socket");
            } finally {
                relay.destroyForcibly();
                for (ProcessHandle h : agent.process().descendants().toList()) {
                    h.destroyForcibly();
                }
            }
        }
    }

    /**
     * A relay stopped by SIGTERM or SIGINT exits 0, as --help says ("0 otherwise"), and removes its
     * socket; before, the JVM's own shutdown made it 143 or 130, which a service manager counts as
     * a failure.
     */
    @Test
    void aRelayStoppedBySigtermOrSigintExitsZeroAndRemovesItsSocket(@TempDir Path dir) throws Exception {
        Path port = dir.resolve("port.sock");
        try (RunningAgent agent = RunningAgent.listening(ROOT.resolve("scripts/agentd"), port, List.of(), Map.of(),
                dir.resolve("agentd.log"))) {
            agent.awaitSocket();
            for (String signal : List.of("TERM", "INT")) {
                Path relaySocket = dir.resolve("relay-" + signal + ".sock");
                RelayProcess relay = relayInFrontOf(dir, port, relaySocket);
                try {
                    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(relay.process().pid())).start();
                    assertEquals(0, kill.waitFor());
                    assertTrue(relay.process().waitFor(30, TimeUnit.SECONDS), "the relay ended on SIG" + signal);
                    assertEquals(0, relay.process().exitValue(), "SIG" + signal + ": " + Files.readString(dir.resolve("relay.err")));
                    assertTrue(!Files.exists(relaySocket), "the relay removed its socket");
                } finally {
                    relay.close();
                }
            }
        }
    }

    /**
     * The relay's lines start with the time in agentd's format (2026-12-04T07:01:34.370Z), so that
     * they can be matched against the agent's log, and a SIGTERM that stops it says so (it stopped
     * without a line).
     */
    @Test
    void theRelaysLinesCarryTheTimeAndASigtermSaysItStopsIt(@TempDir Path dir) throws Exception {
        Path relaySocket = dir.resolve("relay.sock");
        try (RelayProcess relay = relayWithNoAgent(dir, relaySocket)) {
            try (RawClient c = RawClient.connect(relaySocket)) {
                c.readGreeting();
            }
            // The departure logged first: a SIGTERM that came before the relay read the client's end
            // found it still connected ('(1 client(s) connected)').
            for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                    !Files.readString(dir.resolve("relay.err")).contains(" left; the agent is told"); ) {
                assertTrue(System.nanoTime() < deadline, Files.readString(dir.resolve("relay.err")));
                Thread.sleep(20);
            }
            Process kill = new ProcessBuilder("kill", "-TERM", String.valueOf(relay.process().pid())).start();
            assertEquals(0, kill.waitFor());
            assertTrue(relay.process().waitFor(30, TimeUnit.SECONDS), "the relay ended on SIGTERM");
            String said = Files.readString(dir.resolve("relay.err"));
            assertEquals(0, relay.process().exitValue(), said);
            java.util.regex.Pattern info = stamped("INFO");
            List<String> lines = said.lines().toList();
            assertTrue(lines.size() >= 4 && lines.stream().allMatch(l -> info.matcher(l).matches()), said);
            assertTrue(lines.stream().anyMatch(l -> l.endsWith("relay: stopping on SIGTERM (0 client(s) connected)")), said);
        }
    }

    /**
     * The line saying why the relay ended (its port went: exit 1) is stamped as its other lines are:
     * it was printed bare ("agentctl relay: the port ... broke: ...; every client was closed").
     */
    @Test
    void theLineSayingWhyTheRelayEndedCarriesTheTime(@TempDir Path dir) throws Exception {
        Path relaySocket = dir.resolve("relay.sock");
        try (RelayProcess relay = relayWithNoAgent(dir, relaySocket)) {
            relay.vm().close(); // the connection waiting in its backlog is reset: the port is gone
            assertTrue(relay.process().waitFor(30, TimeUnit.SECONDS), "the relay ended with its port");
            String said = Files.readString(dir.resolve("relay.err"));
            assertEquals(1, relay.process().exitValue(), said);
            assertTrue(said.lines().anyMatch(l -> stamped("ERROR").matcher(l).matches()
                    && l.contains("relay: the port " + dir.resolve("port.sock")) && l.endsWith("; every client was closed")),
                    said);
            assertTrue(allStamped(said), said);
        }
    }

    /**
     * A client the relay closes for a bad frame gets its own log line, though it connected a moment
     * before (its "connected" line must not use up the departures' share of the rate limit).
     */
    @Test
    void aClientDroppedForABadFrameRightAfterConnectingIsLoggedWithTheReason(@TempDir Path dir) throws Exception {
        Path relaySocket = dir.resolve("relay.sock");
        try (RelayProcess relay = relayWithNoAgent(dir, relaySocket); RawClient c = RawClient.connect(relaySocket)) {
            c.readGreeting();
            c.sendRaw(new byte[] {-1, -1, -1, -1, 0, 0, 0, 1});
            assertEquals(MessageType.CORE_ERROR, c.receive().type());
            assertTrue(c.atEof(), "closed after the malformed_message");
        }
        String said = Files.readString(dir.resolve("relay.err")); // the relay stopped: all it logged is there
        assertTrue(said.contains("sent a frame length of 4294967295"), said);
    }

    /**
     * Through the relay, one client's fs handle is its own: another client's FStat of its number is
     * "bad handle", its own client's succeeds. The agent knows the clients' ranges from the notices
     * the relay sends at its start (PROTOCOL.md: handles belong to the relay client that opened them).
     */
    @Test
    void aClientsFsHandleServesNoOtherClientOfTheRelay(@TempDir Path dir) throws Exception {
        Path port = dir.resolve("port.sock");
        Path relaySocket = dir.resolve("agent.sock");
        Path file = Files.writeString(dir.resolve("file"), "x");
        try (RunningAgent agent = RunningAgent.listening(ROOT.resolve("scripts/agentd"), port, List.of(), Map.of(),
                dir.resolve("agentd.log"))) {
            agent.awaitSocket();
            try (RelayProcess relay = relayInFrontOf(dir, port, relaySocket);
                    RawClient a = RawClient.connect(relaySocket); RawClient b = RawClient.connect(relaySocket)) {
                IdRange aIds = a.readGreeting();
                IdRange bIds = b.readGreeting();
                assertEquals(MessageType.CORE_READY, a.receive().type());
                assertEquals(MessageType.CORE_READY, b.receive().type());
                FsResponse opened = fs(a, aIds.start() + 1, new FsOp.OpenFile(file.toString(), FsOpenOptions.reading()));
                assertTrue(opened.ok(), opened.toString());
                long handle = ((FsResponseData.Handle) opened.data()).handle();
                FsResponse theirs = fs(b, bIds.start() + 1, new FsOp.FStat(handle));
                assertEquals("EBADF", theirs.errnoName(), theirs.toString());
                FsResponse own = fs(a, aIds.start() + 2, new FsOp.FStat(handle));
                assertTrue(own.ok(), own.toString());
            }
        }
    }

    /** Sends {@code op} on {@code id} (errno names asked for) and returns its answer, the next frame. */
    private static FsResponse fs(RawClient client, long id, FsOp op) throws Exception {
        client.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(op, null, true)));
        Frame answer = client.receive();
        assertEquals(id, answer.id(), answer.toString());
        return (FsResponse) answer.payload();
    }

    /**
     * accept(2) failing (here EMFILE: the relay's open-file limit lowered to what it holds, with
     * util-linux's prlimit) pauses accepting and leaves the relay serving its clients; the client
     * waiting in the backlog is taken once there is room. Before, the IOException ended the relay,
     * and with it every client's connection to the VM.
     */
    @Test
    void aFailedAcceptLeavesTheRelayServing(@TempDir Path dir) throws Exception {
        Path relaySocket = dir.resolve("relay.sock");
        try (RelayProcess relay = relayWithNoAgent(dir, relaySocket); RawClient served = RawClient.connect(relaySocket)) {
            long pid = relay.process().pid();
            served.readGreeting();
            // accept(2) takes the lowest free number, which the limit must not exceed
            java.util.Set<Integer> open;
            try (var fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
                open = fds.map(f -> Integer.parseInt(f.getFileName().toString()))
                        .collect(java.util.stream.Collectors.toSet());
            }
            int lowestFree = 0;
            while (open.contains(lowestFree)) {
                lowestFree++;
            }
            setOpenFileLimit(pid, String.valueOf(lowestFree)); // no room for one more
            try (RawClient waiting = RawClient.connect(relaySocket)) { // in the backlog: accept fails
                String said = "";
                for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                        !said.contains("accepting a client failed"); said = Files.readString(dir.resolve("relay.err"))) {
                    assertTrue(relay.process().isAlive(), "the relay ended: " + said);
                    assertTrue(System.nanoTime() < deadline, "no accept failure: " + said);
                    Thread.sleep(50);
                }
                Thread.sleep(500); // several more tries, each failing
                assertTrue(relay.process().isAlive(), "the relay serves on: " + Files.readString(dir.resolve("relay.err")));
                served.send(new Frame(0, MessageType.CORE_PING, Empty.INSTANCE)); // answered by the relay itself
                assertEquals(MessageType.CORE_ERROR, served.receive().type(), "the connected client is served");

                setOpenFileLimit(pid, "4096");
                waiting.readGreeting(); // taken once there is room
                said = Files.readString(dir.resolve("relay.err"));
                long lines = said.lines().filter(l -> l.contains("accepting a client failed")).count();
                assertTrue(lines >= 1 && lines <= 3, "a line per 5 s for the failures every 100 ms: " + said);
            }
        }
    }

    private static void setOpenFileLimit(long pid, String soft) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", String.valueOf(pid), "--nofile=" + soft + ":")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "prlimit: " + out);
    }

    /**
     * A second relay on a VM's port: QEMU leaves its connection in the chardev's backlog, connected
     * and unanswered. It says so once the agent has not been ready for --ready-warning, and serves on.
     */
    @Test
    void aRelayWhoseAgentSendsNothingSaysSoAndWaitsOn(@TempDir Path dir) throws Exception {
        Path port = dir.resolve("port.sock");
        Path relaySocket = dir.resolve("relay.sock");
        try (ServerSocketChannel vm = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            vm.bind(UnixDomainSocketAddress.of(port)); // held by another client: this one is never accepted
            Process relay = agentctl(dir, "relay", "relay", "--port", port.toString(), "--listen", relaySocket.toString(),
                    "--ready-warning", "500ms");
            try {
                String said = "";
                for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                        !said.contains("no core.ready"); said = Files.readString(dir.resolve("relay.err"))) {
                    assertTrue(relay.isAlive(), said);
                    assertTrue(System.nanoTime() < deadline, "the relay said nothing: " + said);
                    Thread.sleep(50);
                }
                // Stamped as the relay's other lines: it was printed bare ("agentctl relay: no core.ready ...").
                assertTrue(said.lines().anyMatch(l -> stamped("WARN").matcher(l).matches()
                        && l.contains("relay: no core.ready from the agent on " + port + " within 500 ms")
                        && l.contains("another client (a second relay?) holds its port")), said);
                assertTrue(allStamped(said), said);
                Thread.sleep(500);
                assertTrue(relay.isAlive(), "it waits on");
                assertEquals(1, said.lines().filter(l -> l.contains("no core.ready")).count(), "one line: " + said);
            } finally {
                relay.destroy();
                relay.waitFor(30, TimeUnit.SECONDS);
            }
            String said = Files.readString(dir.resolve("relay.err"));
            assertEquals(1, said.lines().filter(l -> l.contains("no core.ready")).count(), "one line: " + said);
        }
    }

    /**
     * Relay flow control with the real agent: an agentctl whose stdout nobody reads stops reading
     * its socket; the relay pauses it at the agent, and another agentctl's command still runs and
     * ends at once. Then every byte of the held one arrives.
     */
    @Test
    void aClientThatDoesNotReadHoldsUpNoOtherClient(@TempDir Path dir) throws Exception {
        Path port = dir.resolve("port.sock");
        Path relaySocket = dir.resolve("agent.sock");
        long flood = 64L << 20; // past every buffer on the way: pipes, sockets, the relay's queue
        try (RunningAgent agent = RunningAgent.listening(ROOT.resolve("scripts/agentd"), port, List.of(), Map.of(),
                dir.resolve("agentd.log"))) {
            agent.awaitSocket();
            Process relay = agentctl(dir, "relay", "relay", "--port", port.toString(), "--listen", relaySocket.toString());
            Process slow = null;
            try {
                assertEquals(0, exitOf(agentctl(dir, "ready", "--socket", relaySocket.toString(), "wait-ready",
                        "--timeout", "30s")));
                slow = new ProcessBuilder(AGENTCTL.toString(), "--socket", relaySocket.toString(), "exec", "--",
                        "head", "-c", Long.toString(flood), "/dev/zero")
                        .redirectInput(new File("/dev/null"))
                        .redirectError(dir.resolve("slow.err").toFile())
                        .start(); // its stdout is a pipe this test does not read yet
                Thread.sleep(3000); // the flood fills every buffer up to the relay's mark
                Process other = agentctl(dir, "other", "--socket", relaySocket.toString(), "exec", "--", "echo", "served");
                if (!other.waitFor(30, TimeUnit.SECONDS)) {
                    throw new AssertionError("a client that does not read held up another one");
                }
                assertEquals(0, other.exitValue(), Files.readString(dir.resolve("other.err"))
                        + Files.readString(dir.resolve("relay.err")));
                assertEquals("served\n", Files.readString(dir.resolve("other.out")));
                long got = slow.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                assertEquals(0, exitOf(slow), Files.readString(dir.resolve("slow.err")));
                assertEquals(flood, got, "every byte of the held client");
            } finally {
                if (slow != null) {
                    slow.destroyForcibly();
                }
                relay.destroyForcibly();
            }
        }
    }
}
