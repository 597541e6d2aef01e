package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A peer whose connecting process is gone by the accept is refused, even when its pid names an
 * unconfined process by then: the check reads /proc/PID/status, and before SO_PEERPIDFD it read
 * whatever process had the pid (a strict session stopped the agent, connected from a child that
 * exited, had an unconfined process take the pid, and was served unconfined). Real sockets, real
 * processes; the pid is handed on with ns_last_pid as the reviewer did (root). Needs a kernel with
 * SO_PEERPIDFD (6.5) and /usr/bin/python3 for the peer that connects.
 */
class PeerPidReuseTest {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final String CONNECT = "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])";

    private Path path;
    private int listenFd = -1;

    @BeforeEach
    void listen() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PYTHON), "needs " + PYTHON + " to connect");
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "peerpid-");
        path = dir.resolve("s");
        listenFd = Os.check("socket", Os.libc().socket(AF_UNIX, SOCK_STREAM | LibC.O_CLOEXEC, 0));
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer addr = Os.allocate(2 + UnixSocketServer.SUN_PATH_MAX);
        addr.putShort(0, (short) AF_UNIX);
        addr.put(2, name);
        Os.check("bind", Os.libc().bind(listenFd, addr, 2 + name.length + 1));
        Os.check("listen", Os.libc().listen(listenFd, 8));
    }

    @AfterEach
    void close() {
        Os.close(listenFd);
    }

    /** The connection the peer made, from the backlog (it waits there whether or not the peer lives). */
    private int accept() throws Exception {
        return Os.check("accept4", Os.libc().accept4(listenFd, null, null, LibC.O_CLOEXEC));
    }

    /** A peer under no_new_privs (a strict session's mark) that connects and exits; its pid. */
    private int confinedPeerThatConnectsAndExits() throws Exception {
        Process peer = new ProcessBuilder("setpriv", "--no-new-privs", PYTHON.toString(), "-c", CONNECT, path.toString())
                .inheritIO().start();
        assertEquals(0, peer.waitFor());
        return (int) peer.pid();
    }

    @Test
    void aLiveConfinedPeerIsRefusedForItsMarksThroughItsPidfd() throws Exception {
        Process peer = new ProcessBuilder("setpriv", "--no-new-privs", PYTHON.toString(), "-c",
                CONNECT + "; sys.stdin.read()", path.toString()).start();
        int fd = accept();
        try {
            int pidfd = PeerPidfd.of(fd, "peer");
            Assumptions.assumeTrue(pidfd != PeerPidfd.UNAVAILABLE, "no SO_PEERPIDFD: Linux 6.5 has it");
            assertTrue(pidfd >= 0, "a pidfd of the live peer: " + pidfd);
            assertTrue(PeerPidfd.alive(pidfd));
            Os.close(pidfd);
            String why = PeerConfinement.ofThisProcess().refusalOfPeer(fd, (int) peer.pid(), "peer");
            assertTrue(why != null && why.contains("no_new_privs"), String.valueOf(why));
        } finally {
            Os.close(fd);
            peer.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aPeerGoneByTheAcceptIsRefusedThoughItsPidNamesAnUnconfinedProcessNow() throws Exception {
        Assumptions.assumeTrue(Os.libc().getuid() == 0, "needs root to write ns_last_pid");
        Path lastPid = Path.of("/proc/sys/kernel/ns_last_pid");
        Assumptions.assumeTrue(Files.isWritable(lastPid), "ns_last_pid is read-only here");
        PeerConfinement agent = PeerConfinement.ofThisProcess();
        for (int attempt = 0; attempt < 5; attempt++) { // another process on the machine may take the pid first
            int peerPid = confinedPeerThatConnectsAndExits();
            int fd = accept();
            Process standIn = null;
            try {
                int pidfd = PeerPidfd.of(fd, "peer");
                Assumptions.assumeTrue(pidfd != PeerPidfd.UNAVAILABLE, "no SO_PEERPIDFD: Linux 6.5 has it");
                if (pidfd >= 0) {
                    assertTrue(!PeerPidfd.alive(pidfd), "the peer exited");
                    Os.close(pidfd);
                }
                // An unconfined process (this one's marks) on the peer's pid: a shell writes the
                // pid before it and forks at once.
                standIn = new ProcessBuilder("sh", "-c", "echo " + (peerPid - 1) + " > " + lastPid
                        + "; sleep 30 & echo $!; wait").start();
                String line = new BufferedReader(new InputStreamReader(standIn.getInputStream(),
                        StandardCharsets.US_ASCII)).readLine();
                int standInPid = Integer.parseInt(line.trim());
                if (standInPid != peerPid) {
                    continue;
                }
                String status = Files.readString(Path.of("/proc/" + peerPid + "/status"));
                assertTrue(status.contains("NoNewPrivs:\t0"), "the pid names an unconfined process now");
                String why = agent.refusalOfPeer(fd, peerPid, "peer");
                assertTrue(why != null && why.contains("(pid " + peerPid + ") is gone or unreadable"),
                        String.valueOf(why));
                return;
            } finally {
                Os.close(fd);
                if (standIn != null) {
                    standIn.descendants().forEach(ProcessHandle::destroyForcibly);
                    standIn.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
        Assumptions.abort("the peer's pid went to another process each time (a busy machine)");
    }
}
