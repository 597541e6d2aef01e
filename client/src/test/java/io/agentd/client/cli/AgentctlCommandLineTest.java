package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** agentctl's answers that need no agent: usage errors and the ways there is no agent to talk to. */
class AgentctlCommandLineTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String socketEnv, String... argv) {
        return Agentctl.run(List.of(argv), socketEnv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** A SESSION or --from past a u64 is out of range, not "a number, not '...'" (said of its digits). */
    @Test
    void anAttachNumberPastTheRangeIsSaidToBe() {
        assertEquals(2, run(null, "attach", "99999999999999999999"));
        assertTrue(err().startsWith("agentctl: attach: SESSION 99999999999999999999 is out of range (at most"
                + " 18446744073709551615)\n"), err());
        err.reset();
        assertEquals(2, run(null, "attach", "--from", "abc", "1"));
        assertTrue(err().startsWith("agentctl: attach: --from is a number, not 'abc'\n"), err());
    }

    @Test
    void aBadFlagExitsTwoWithTheErrorAndAPointerToTheHelpOnStderr() {
        assertEquals(2, run(null, "exec", "--bogus", "ls"));
        assertEquals("agentctl: exec: unknown option --bogus\nTry 'agentctl exec --help' for its options.\n",
                err(), "the error stays on screen: no usage after it");
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    /**
     * agentctl COMMAND --help (or -h, or agentctl help COMMAND) is that command's own usage, options
     * and examples on stdout; it printed the whole program's help, every command's options, for each.
     */
    @Test
    void aCommandsHelpIsItsOwnUsageOnStdout() {
        Map<String, List<String>> ownLines = Map.of(
                "exec", List.of("usage: agentctl [-s ADDRESS] exec [OPTIONS] [--] CMD [ARGS...]\n", "--rlimit NAME=SOFT",
                        "agentctl exec -it -- bash", "124 when --timeout stopped CMD", "-e, --env K=V|NAME"),
                "attach", List.of("usage: agentctl [-s ADDRESS] attach [OPTIONS] SESSION\n", "--from OFFSET",
                        "agentctl attach -it 3"),
                "cp", List.of("usage: agentctl [-s ADDRESS] cp [-a] [-u USER[:GROUP]] SRC... DST\n", "-a, --archive",
                        "agentctl cp :/etc - | tar tv"),
                "ps", List.of("usage: agentctl [-s ADDRESS] ps\n", "agentctl ps"),
                "ping", List.of("usage: agentctl [-s ADDRESS] ping [--count N] [--interval DURATION]\n",
                        "agentctl ping --count 10"),
                "shutdown", List.of("usage: agentctl [-s ADDRESS] shutdown\n"),
                "wait-ready", List.of("usage: agentctl [-s ADDRESS] wait-ready [--timeout DURATION]\n",
                        "ready: agentd VERSION at ADDRESS; since kernel boot:"),
                "relay", List.of("usage: agentctl [-s ADDRESS] relay --port PORT_SOCKET --listen SOCKET [OPTIONS]\n",
                        "--qmp QMP_SOCKET", "--port-wait DURATION"));
        for (Map.Entry<String, List<String>> command : ownLines.entrySet()) {
            String name = command.getKey();
            for (List<String> asked : List.of(List.of(name, "--help"), List.of(name, "-h"), List.of("help", name))) {
                out.reset();
                assertEquals(0, run(null, asked.toArray(String[]::new)), asked.toString());
                String help = out.toString(StandardCharsets.UTF_8);
                assertTrue(help.startsWith(command.getValue().get(0)), asked + ":\n" + help);
                command.getValue().forEach(line -> assertTrue(help.contains(line), asked + " has " + line + ":\n" + help));
                assertFalse(help.contains("commands:"), asked + " is not the overview:\n" + help);
                for (String other : ownLines.keySet()) {
                    assertTrue(other.equals(name) || !help.startsWith(ownLines.get(other).get(0)), asked + ":\n" + help);
                }
            }
        }
        assertEquals("", err());
    }

    /** The overview lists every command (its synopsis and summary, from the command's own help) and no command's options. */
    @Test
    void theOverviewListsEveryCommandAndPointsAtTheirHelp() {
        assertEquals(0, run(null, "--help"));
        String overview = out.toString(StandardCharsets.UTF_8);
        for (CommandHelp command : CommandHelp.values()) {
            assertTrue(overview.contains("  " + command.synopsis()) && overview.contains(command.summary()),
                    command + ":\n" + overview);
        }
        assertTrue(overview.contains("agentctl COMMAND --help"), overview);
        assertFalse(overview.contains("--rlimit"), "exec's options are exec's help:\n" + overview);
        out.reset();
        assertEquals(0, run(null, "help"));
        assertEquals(overview, out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpOfNoCommandIsAUsageError() {
        assertEquals(2, run(null, "help", "frobnicate"));
        assertEquals(2, run(null, "frobnicate", "--help"));
        assertTrue(err().contains("unknown command 'frobnicate'"), err());
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aHelpFlagOfTheRemoteCommandIsNotAgentctls() {
        // exec -- ls --help: --help belongs to ls; with no agent this ends at the connection, not at the usage.
        assertEquals(125, run("/nonexistent/agentd.sock", "exec", "--", "ls", "--help"));
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    /**
     * A RuntimeException out of a command (here a null argument, which main never passes) is one
     * line and agentctl's own failure status, 125, not a stack trace and the JVM's 1 (cp's "an item
     * failed"). Before the catch-all it was thrown out of run.
     */
    @Test
    void anInternalErrorIsOneLineAndExits125() {
        int code = Agentctl.run(Arrays.asList("exec", null), "/nonexistent/agentd.sock",
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(125, code, err());
        assertTrue(err().startsWith("agentctl: internal error: java.lang.NullPointerException"), err());
        assertEquals(1, err().lines().count(), err());
    }

    @Test
    void otherUsageErrorsExitTwo() {
        assertEquals(2, run(null));
        assertEquals(2, run(null, "frobnicate"));
        assertEquals(2, run(null, "--socket"));
        assertEquals(2, run(null, "ping", "extra"));
        assertEquals(2, run(null, "ping", "--count", "0"));
        assertEquals(2, run(null, "ping", "--count", "many"));
        assertEquals(2, run(null, "ping", "--count", "10000001"));
        assertEquals(2, run(null, "ping", "--count"));
        assertEquals(2, run(null, "ping", "--interval", "soon"));
        assertEquals(2, run(null, "wait-ready", "--timeout", "never"));
        assertEquals(2, run(null, "exec"));
        // one-character arguments where an option goes: usage errors, not an internal error (125)
        assertEquals(2, run(null, "-"));
        assertEquals(2, run(null, "wait-ready", "5"));
        assertEquals(2, run(null, "wait-ready", ""));
        assertEquals(2, run(null, "relay", "x"));
    }

    @Test
    void helpGoesToStdout() {
        assertEquals(0, run(null, "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("usage: agentctl"));
        out.reset();
        assertEquals(0, run(null, "exec", "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ")
                        .contains("123 when CMD exited 0 but did not get all of its stdin"),
                "the exit status for undelivered stdin is documented");
    }

    @Test
    void aMissingSocketSaysSoAndExits125(@TempDir Path dir) {
        Path socket = dir.resolve("absent.sock");
        assertEquals(125, run(socket.toString(), "ping"));
        assertTrue(err().contains("no agent socket at " + socket), err());
    }

    /**
     * An invalid address is blamed on where it came from: $AGENTD_SOCKET was reported as --socket,
     * an option the user never gave.
     */
    @Test
    void anInvalidAddressNamesTheSettingItCameFrom() {
        assertEquals(2, run("vsock:abc", "ping"));
        assertTrue(err().startsWith("agentctl: AGENTD_SOCKET: \"vsock:abc\" is not vsock:CID:PORT"), err());
        err.reset();
        assertEquals(2, run("/run/agentd/agentd.sock", "--socket", "vsock:abc", "ping"));
        assertTrue(err().startsWith("agentctl: --socket: \"vsock:abc\" is not vsock:CID:PORT"), err());
        err.reset();
        assertEquals(2, run("vsock:abc", "-s", "vsock:xyz", "ping"));
        assertTrue(err().startsWith("agentctl: --socket: \"vsock:xyz\""), err());
    }

    /** A path with a newline (or an escape sequence) in it cannot break agentctl's error into two lines. */
    @Test
    void aSocketPathWithControlCharactersGivesOneLine(@TempDir Path dir) {
        Path socket = dir.resolve("a\nb\u001b[2J.sock");
        assertEquals(125, run(null, "--socket", socket.toString(), "ping"));
        assertEquals(1, err().lines().count(), err());
        assertTrue(err().contains("no agent socket at " + dir + "/a\\nb\\x1b[2J.sock"), err());
        err.reset();
        assertEquals(2, run(null, "ping", "--count", "1\n2"));
        assertTrue(err().startsWith("agentctl: --count: a number from 1 to 10000000, not '1\\n2'\n"), err());
    }

    /**
     * agentctl's last line (a usage error, or the failure that ended a command: cp's "the copy
     * stopped" names a file the guest named) shows a bidi override (U+202E, which turns what follows
     * around on the terminal) and a line separator (U+2028) escaped, as cp's line per item does.
     * Before, only ISO control characters were escaped there and both went out raw.
     */
    @Test
    void formatAndSeparatorCharactersInTheLastLineAreEscaped(@TempDir Path dir) {
        assertEquals(2, run(null, "ping", "--count", "1\u202E2\u20283"));
        assertTrue(err().startsWith("agentctl: --count: a number from 1 to 10000000, not '1\\u202e2\\u20283'\n"), err());
        assumeTrue("UTF-8".equals(System.getProperty("sun.jnu.encoding")), "file names need a UTF-8 locale");
        Path socket = dir.resolve("gnp.exe\u202E\u2028agentctl: done.sock");
        for (String command : List.of("ping", "cp")) {
            err.reset();
            assertEquals(125, command.equals("cp") ? run(null, "--socket", socket.toString(), "cp", ":/f", dir.toString())
                    : run(null, "--socket", socket.toString(), command), err());
            assertTrue(err().contains(dir + "/gnp.exe\\u202e\\u2028agentctl: done.sock"), err());
            assertTrue(err().indexOf('\u202E') < 0 && err().indexOf('\u2028') < 0, command + ": " + err());
        }
    }

    /** -sPATH, the value attached, as -uUSER and the other short options with a value take it. */
    @Test
    void theShortSocketOptionTakesItsValueAttached(@TempDir Path dir) {
        Path socket = dir.resolve("attached.sock");
        assertEquals(125, run(null, "-s" + socket, "ping"));
        assertTrue(err().contains("no agent socket at " + socket), err());
    }

    @Test
    void theSocketOptionBeatsTheEnvironment(@TempDir Path dir) {
        Path socket = dir.resolve("from-option.sock");
        assertEquals(125, run(dir.resolve("from-env.sock").toString(), "--socket", socket.toString(), "ping"));
        assertTrue(err().contains(socket.toString()), err());
    }

    @Test
    void aFileThatIsNotASocketSaysSo(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("plain-file"));
        assertEquals(125, run(null, "--socket", file.toString(), "exec", "true"));
        assertTrue(err().contains("is not a socket"), err());
    }

    @Test
    void aHybridVsockHandshakeFailureNamesTheAddressOnce(@TempDir Path dir) throws Exception {
        Path uds = dir.resolve("v.sock");
        try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(uds));
            var vmm = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try (var host = server.accept()) {
                    host.read(java.nio.ByteBuffer.allocate(64)); // CONNECT 52
                    host.write(java.nio.ByteBuffer.wrap("NO\n".getBytes(StandardCharsets.US_ASCII)));
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            String address = "hvsock:" + uds + ":52";
            assertEquals(125, run(null, "--socket", address, "ping"));
            vmm.join();
        }
        String address = "hvsock:" + uds + ":52";
        assertTrue(err().contains("\"NO\""), err());
        assertEquals(err().indexOf(address), err().lastIndexOf(address), err());
    }

    @Test
    void aSocketNobodyListensOnIsRefused(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("stale.sock");
        try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(socket));
        } // closed: the file stays, nothing listens
        assertEquals(125, run(null, "--socket", socket.toString(), "shutdown"));
        assertTrue(err().contains("connection refused at " + socket), err());
    }

    @Test
    void waitReadyGivesUpAtItsTimeout(@TempDir Path dir) {
        Path socket = dir.resolve("never.sock");
        assertEquals(125, run(null, "--socket", socket.toString(), "wait-ready", "--timeout", "300ms"));
        assertTrue(err().contains("no agent ready at " + socket + " within 300ms"), err());
    }

    /**
     * wait-ready against a peer that answers every connection with something else (an HTTP server):
     * the line at the timeout names that, whatever the timeout. Before, the last attempt, left only
     * the last milliseconds, failed on its own short deadline and replaced it ("accepted no
     * connection within 0 ms", "the agent sent no ready message"), so the cause changed with the
     * timeout given (a review).
     */
    @Test
    void waitReadyNamesWhatAPeerThatSpeaksSomethingElseSentWhateverTheTimeout(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("http.sock");
        try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(socket));
            Thread answering = new Thread(() -> {
                while (server.isOpen()) {
                    try (java.nio.channels.SocketChannel peer = server.accept()) {
                        peer.write(java.nio.ByteBuffer.wrap("HTTP/1.1 400 Bad Request\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII)));
                    } catch (java.io.IOException closed) {
                        return;
                    }
                }
            }, "http-peer");
            answering.setDaemon(true);
            answering.start();
            for (String timeout : List.of("1s", "3s")) {
                err.reset();
                assertEquals(Agentctl.EXIT_UNAVAILABLE, run(null, "--socket", socket.toString(), "wait-ready",
                        "--timeout", timeout));
                assertTrue(err().contains("unusable length"), "--timeout " + timeout + ": " + err());
            }
        }
    }
}
