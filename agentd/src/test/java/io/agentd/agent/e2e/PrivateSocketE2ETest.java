package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.MessageType;
import io.agentd.testsupport.StoppedListener;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The agent's unix socket is private (issue 14): mode 0600 whatever the umask, a peer that is not an
 * allowed uid is refused and logged, a FIFO, a symbolic link or an open directory at the path makes
 * the agent refuse to start, and the path never names a socket that does not accept yet. Needs root
 * (a second uid, 65534, connects through setpriv; perl makes the connection, as python may not be
 * reachable by that uid).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PrivateSocketE2ETest {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final int NOBODY = 65534;

    /**
     * Waits for the socket path to appear and connects at once, at first sight: it must accept (a
     * socket bound but not yet listening would refuse) and greet with core.ready.
     */
    private static void awaitAndConnectAtFirstSight(LaunchedAgent agent) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!Files.exists(agent.socket(), LinkOption.NOFOLLOW_LINKS)) {
            assertTrue(agent.process().isAlive(), "agent exited before listening:\n" + agent.logText());
            assertTrue(System.nanoTime() < deadline, "no socket after " + START_TIMEOUT + ":\n" + agent.logText());
            Thread.onSpinWait();
        }
        try (HostConnection host = HostConnection.open(agent.socket())) {
            host.expect(0, MessageType.CORE_READY);
        }
    }

    /** Connects as uid 65534 (perl, through setpriv); returns "denied", "closed" or "greeted N bytes". */
    private static String connectAsNobody(Path socket) throws Exception {
        String perl = "use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])"
                + " or do { print \"denied\"; exit 0 }; my $n = sysread($s, my $buf, 4096); "
                + "print $n ? \"greeted $n bytes\" : \"closed\";";
        Process p = new ProcessBuilder("setpriv", "--reuid", Integer.toString(NOBODY), "--regid",
                Integer.toString(NOBODY), "--clear-groups", "perl", "-e", perl, socket.toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the uid 65534 client did not finish");
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    @Test
    void theSocketIs0600UnderUmask000AndAcceptsFromTheMomentItsPathExists() throws Exception {
        Path dir = LaunchedAgent.newDir("umask");
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", dir.resolve("agent.sock"), "000")) {
            awaitAndConnectAtFirstSight(agent);
            assertEquals(0600, mode(agent.socket()), "mode " + Integer.toOctalString(mode(agent.socket())));
            assertEquals("denied", connectAsNobody(agent.socket()), "the file's mode keeps uid 65534 out");
            try (var names = Files.list(dir)) {
                assertEquals(List.of(), names.filter(p -> p.getFileName().toString().endsWith(".new")).toList(),
                        "the temporary name is gone once published");
            }
        }
    }

    @Test
    void aPeerThatIsNotAnAllowedUidIsClosedAndLoggedWithItsUidAndPid() throws Exception {
        Path dir = LaunchedAgent.newDir("peer");
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", dir.resolve("agent.sock"), "022", "--socket-mode",
                "0666")) {
            awaitAndConnectAtFirstSight(agent);
            assertEquals(0666, mode(agent.socket()));
            assertEquals("closed", connectAsNobody(agent.socket()), "uid 65534 gets no core.ready");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!agent.logText().contains("refused a connection from uid 65534 (pid ")
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(agent.logText().contains("refused a connection from uid 65534 (pid "), agent.logText());
            try (HostConnection host = HostConnection.open(agent.socket())) {
                host.expect(0, MessageType.CORE_READY); // root is still served
            }
        }
    }

    @Test
    void anAllowedUidIsServed() throws Exception {
        Path dir = LaunchedAgent.newDir("allow");
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", dir.resolve("agent.sock"), "022", "--socket-mode",
                "0666", "--allow-uid", Integer.toString(NOBODY))) {
            awaitAndConnectAtFirstSight(agent);
            String answer = connectAsNobody(agent.socket());
            assertTrue(answer.startsWith("greeted"), answer);
        }
    }

    @Test
    void aMemberOfTheSocketGroupIsServed() throws Exception {
        Path dir = LaunchedAgent.newDir("group");
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", dir.resolve("agent.sock"), "077", "--socket-group",
                "nogroup")) {
            awaitAndConnectAtFirstSight(agent);
            assertEquals(0660, mode(agent.socket()), "group members may open it");
            assertEquals(NOBODY, (Integer) Files.getAttribute(agent.socket(), "unix:gid"));
            String answer = connectAsNobody(agent.socket()); // uid 65534, gid 65534 (nogroup)
            assertTrue(answer.startsWith("greeted"), answer);
        }
    }

    /**
     * A path near the longest a socket address holds is served: the temporary name it is bound
     * under first must fit too. 106 bytes, the longest the JDK connects to (a Java host's limit;
     * the agent's own is 107), and past 107 it is refused with the length.
     */
    @Test
    void aSocketPathOfTheLongestLengthIsServedAndLongerIsRefused() throws Exception {
        Path dir = LaunchedAgent.newDir("long");
        String name = "agent.sock";
        int room = 106 - dir.toString().length() - 2 - name.length(); // two slashes
        assertTrue(room > 0, "the test directory leaves room: " + dir);
        Path longest = Files.createDirectory(dir.resolve("d".repeat(room))).resolve(name);
        assertEquals(106, longest.toString().length());
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", longest, "022")) {
            awaitAndConnectAtFirstSight(agent);
        }
        Path tooLong = longest.resolveSibling(name + "xx");
        assertRefusesToStart(dir, tooLong, "socket path too long (108 bytes, max 107)");
    }

    /**
     * What the command line alone decides (a socket path too long, a --socket-group that does not
     * exist) is a refusal of the options, exit 2, which the guest's init does not retry: exit 1 had it
     * restart the agent for ever, the port's host waiting for a ready that could never come.
     */
    @Test
    void aSocketPathTooLongOrAnUnknownGroupIsARefusalOfTheOptions() throws Exception {
        Path dir = LaunchedAgent.newDir("options");
        Path tooLong = dir.resolve("d".repeat(120)).resolve("agent.sock");
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", tooLong, "022")) {
            assertTrue(agent.process().waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), agent.logText());
            assertEquals(2, agent.process().exitValue(), agent.logText());
            assertTrue(agent.logText().contains("socket path too long"), agent.logText());
        }
        try (LaunchedAgent agent = LaunchedAgent.launch(LaunchedAgent.newDir("options-group"), "",
                dir.resolve("agent.sock"), "022", "--socket-group", "no-such-group-of-agentd")) {
            assertTrue(agent.process().waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), agent.logText());
            assertEquals(2, agent.process().exitValue(), agent.logText());
            assertTrue(agent.logText().contains("--socket-group \"no-such-group-of-agentd\": no such group"),
                    agent.logText());
        }
    }

    private static void assertRefusesToStart(Path dir, Path socket, String expected) throws Exception {
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", socket, "022")) {
            assertTrue(agent.process().waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), agent.logText());
            assertNotEquals(0, agent.process().exitValue(), agent.logText());
            assertTrue(agent.logText().contains(expected), agent.logText());
        }
    }

    /**
     * An agent whose user cannot write the socket's directory, or cannot open a lock file root left
     * there, says which: both read "LOCKFILE: permission denied" before (an operator review).
     */
    @Test
    void aDirectoryOrALockFileTheAgentsUserCannotUseIsSaidToBeOne() throws Exception {
        Path dir = LaunchedAgent.newDir("ro-dir");
        Path ro = Files.createDirectory(dir.resolve("ro")); // root's, 0755
        String asNobody = "setpriv --reuid " + NOBODY + " --regid " + NOBODY + " --clear-groups";
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, asNobody, ro.resolve("agent.sock"), "022")) {
            assertTrue(agent.process().waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), agent.logText());
            assertEquals(1, agent.process().exitValue(), agent.logText());
            assertTrue(agent.logText().contains("cannot create the lock file .agent.sock.lock in " + ro
                    + " (permission denied): the agent's user must be able to write"), agent.logText());
        }
        Files.createFile(ro.resolve(".agent.sock.lock"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rw-------"))); // root's, left by an agent run as root
        Files.setAttribute(ro, "unix:uid", NOBODY);
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, asNobody, ro.resolve("agent.sock"), "022")) {
            assertTrue(agent.process().waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), agent.logText());
            assertEquals(1, agent.process().exitValue(), agent.logText());
            assertTrue(agent.logText().contains(".agent.sock.lock exists and the agent's user cannot open it"),
                    agent.logText());
        }
    }

    @Test
    void aFifoAtThePathIsRefusedAndLeftAlone() throws Exception {
        Path dir = LaunchedAgent.newDir("fifo");
        Path socket = dir.resolve("agent.sock");
        assertEquals(0, new ProcessBuilder("mkfifo", socket.toString()).inheritIO().start().waitFor());
        assertRefusesToStart(dir, socket, "exists and is a FIFO, not a socket");
        assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the FIFO is still there");
    }

    @Test
    void aSymbolicLinkAtThePathIsRefusedAndLeftAlone() throws Exception {
        Path dir = LaunchedAgent.newDir("symlink");
        Path socket = dir.resolve("agent.sock");
        Files.createSymbolicLink(socket, dir.resolve("elsewhere.sock"));
        assertRefusesToStart(dir, socket, "exists and is a symbolic link, not a socket");
        assertTrue(Files.isSymbolicLink(socket), "the link is still there");
        assertFalse(Files.exists(dir.resolve("elsewhere.sock"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aSecondAgentOnThePathIsRefusedEvenWhileItsSocketFileIsMissing() throws Exception {
        Path dir = LaunchedAgent.newDir("second");
        Path socket = dir.resolve("agent.sock");
        try (LaunchedAgent first = LaunchedAgent.launch(dir, "", socket, "022")) {
            first.awaitSocket();
            // as between another agent's probe and its rename: no socket at the path, its agent alive
            Files.delete(socket);
            assertRefusesToStart(LaunchedAgent.newDir("second-log"), socket, "is in use: another agent holds its lock");
            assertTrue(first.process().isAlive(), first.logText());
            assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the second published nothing");
        }
        // the first gone, its lock went with it: the path can be served again
        try (LaunchedAgent again = LaunchedAgent.launch(LaunchedAgent.newDir("second-again"), "", socket, "022")) {
            awaitAndConnectAtFirstSight(again);
        }
    }

    /**
     * A listener on the path that accepts nothing (stopped, its backlog full): the agent says the
     * path is in use and exits. Before, its probe's connect waited for room in the backlog for ever,
     * the agent deaf to SIGTERM meanwhile.
     */
    @Test
    void aListenerThatAcceptsNothingIsInUseAndTheAgentSaysSoAtOnce() throws Exception {
        Path dir = LaunchedAgent.newDir("full-backlog");
        Path socket = dir.resolve("agent.sock");
        try (StoppedListener stopped = StoppedListener.at(socket)) { // the next connect would wait
            assertRefusesToStart(LaunchedAgent.newDir("full-backlog-log"), socket, "is in use: something listens on it but"
                    + " accepts nothing");
        }
    }

    @Test
    void anAgentLeavingRemovesThePathOnlyIfItStillNamesItsOwnSocket() throws Exception {
        Path dir = LaunchedAgent.newDir("own-socket");
        Path socket = dir.resolve("agent.sock");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            try (LaunchedAgent agent = LaunchedAgent.launch(dir, "", socket, "022")) {
                agent.awaitSocket();
                // someone else's socket renamed over the path while the agent runs
                Path elsewhere = dir.resolve("other.sock");
                other.bind(UnixDomainSocketAddress.of(elsewhere));
                Files.move(elsewhere, socket, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the other socket is left in place");
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                assertTrue(client.isConnected(), "still the other socket");
            }
        }
        // and without the swap the agent removes its own (the other socket, dead now, removed first so
        // that the wait below is for the agent's)
        Files.delete(socket);
        try (LaunchedAgent agent = LaunchedAgent.launch(LaunchedAgent.newDir("own-socket-2"), "", socket, "022")) {
            agent.awaitSocket();
        }
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "removed by the agent that published it");
    }

    @Test
    void aDirectoryEveryoneMayWriteWithoutTheStickyBitIsRefused() throws Exception {
        Path dir = LaunchedAgent.newDir("open-dir");
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertRefusesToStart(dir, open.resolve("agent.sock"), "is writable by every user and not sticky");
    }
}
