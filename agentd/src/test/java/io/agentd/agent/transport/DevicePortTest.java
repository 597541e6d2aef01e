package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A port on a real character device (a PTY's slave, a tty; /dev/null, which is none) with a
 * scripted loop that can refuse to watch an fd, as epoll does past the agent uid's
 * max_user_watches, which sessions running as root share. The port is the host's only way into a
 * VM: when it cannot be watched it is tried again until it can, never left unserved.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DevicePortTest {
    /** Whether the tty is held exclusive (TIOCEXCL), read into the int: linux/tty.h, since Linux 3.8. */
    private static final long TIOCGEXCL = 0x80045440L;

    private final ScriptedLoop loop = new ScriptedLoop();
    private final HostConnections connections = new HostConnections() {
        @Override
        public HostEndpoint accept(String peer, HostLossPolicy policy) {
            throw new UnsupportedOperationException();
        }

        @Override
        public HostEndpoint openPort(String device, HostLossPolicy policy) {
            return SilentHost.endpoint(loop, over -> { });
        }

        @Override
        public int maxConnections() {
            return 0;
        }
    };

    /**
     * A tty's host side goes and its probe finds epoll refusing the fd. Before, the probe's
     * exception went to the loop and nothing probed again: the port was never served again.
     */
    @Test
    void aTtyTheLoopCannotWatchAgainIsTriedUntilItCan() throws Exception {
        int master = Os.libc().posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        assertTrue(master >= 0, "posix_openpt");
        DevicePort port = null;
        try {
            Path slave = unlock(master);
            port = new DevicePort(loop, () -> slave, HostLossPolicy.KILL_SESSIONS, connections);
            port.start();
            int fd = loop.lastRegisteredFd();
            assertTrue(loop.registration(fd).reading(), "served");

            loop.refuseNewWatches(true);
            loop.fire(fd, Loop.HANGUP); // the host side is gone: probed again in PROBE_MILLIS
            asTheEventLoopDoes(() -> loop.advance(DevicePort.PROBE_MILLIS)); // the probe cannot watch it
            assertFalse(watched(fd), "epoll refused it");
            loop.advance(DevicePort.REFIND_MILLIS * 3);
            assertFalse(watched(fd), "epoll still refuses it");

            loop.refuseNewWatches(false);
            loop.advance(DevicePort.REFIND_MILLIS);
            assertTrue(watched(fd), "served again once epoll takes it");
        } finally {
            if (port != null) {
                port.close();
            }
            Os.libc().close(master);
        }
    }

    /**
     * A virtio port's host side goes: the port is watched for its return, and epoll refuses that
     * watch. Before, the exception went to the loop from the link's hang-up and the port was
     * watched by nothing. /dev/null stands in for the port: a character device that is not a tty.
     */
    @Test
    void aPortWhoseHostWatchEpollRefusesIsTriedAgainUntilItIsServed() throws Exception {
        DevicePort port = new DevicePort(loop, () -> Path.of("/dev/null"), HostLossPolicy.KILL_SESSIONS, connections);
        port.start();
        try {
            int fd = loop.lastRegisteredFd();
            loop.refuseNewWatches(true);
            asTheEventLoopDoes(() -> loop.fire(fd, Loop.HANGUP)); // the host side is gone: watched for its return, which epoll refuses
            assertFalse(watched(fd), "epoll refused the watch");
            loop.advance(DevicePort.REFIND_MILLIS * 3);
            assertFalse(watched(fd), "epoll still refuses it");

            loop.refuseNewWatches(false);
            loop.advance(DevicePort.REFIND_MILLIS);
            assertTrue(watched(fd), "watched again once epoll takes it");
        } finally {
            port.close();
        }
    }

    /**
     * A virtio port whose host side is away polls readable and hung up (virtio_console: no host, so
     * a read would not block); one that was removed polls hung up alone. epoll reports only what
     * the watch asks for (and hang-ups): the watch for the host's return asked for writability only,
     * so "host away" came as a bare hang-up and was taken for a removal. Whenever no host was
     * connected (at boot before the VMM's end connects, after a host left) the agent closed and
     * reopened the port every second, logging two lines each time, and saw a returning host only at
     * the next reopen (a review measured 0.54 s to the ready instead of 0.01 s).
     */
    @Test
    void aPortWhoseHostIsAwayIsWatchedNotTakenForRemoved() throws Exception {
        DevicePort port = new DevicePort(loop, () -> Path.of("/dev/null"), HostLossPolicy.KILL_SESSIONS, connections);
        port.start();
        try {
            int fd = loop.lastRegisteredFd();
            loop.fire(fd, Loop.HANGUP); // the link's probe: no host side
            assertTrue(loop.fireIfWatched(fd, Loop.READABLE | Loop.HANGUP), "the watch for the host's return");
            assertTrue(watched(fd), "the host is away, the port is there: still watched");
            assertEquals(0, loop.pendingTimers(), "no reopen scheduled");

            assertTrue(loop.fireIfWatched(fd, Loop.HANGUP)); // removed: hang-up alone
            assertFalse(watched(fd), "a removed port is closed");
            assertEquals(1, loop.pendingTimers(), "and looked for again");
        } finally {
            port.close();
        }
    }

    /**
     * A tty port whose start fails after the agent took it exclusive (epoll refuses it) gives the
     * tty back: on a PTY the flag outlives the fd, and an agent without CAP_SYS_ADMIN started on it
     * again would be refused EBUSY. Before, the failed start closed the fd with the flag still set.
     */
    @Test
    void aTtyPortWhoseStartFailsIsNotLeftExclusive() throws Exception {
        int master = Os.libc().posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        assertTrue(master >= 0, "posix_openpt");
        int slave = -1;
        try {
            Path slavePath = unlock(master);
            loop.refuseNewWatches(true);
            DevicePort port = new DevicePort(loop, () -> slavePath, HostLossPolicy.KILL_SESSIONS, connections);
            assertThrows(java.io.IOException.class, port::start);
            slave = Os.libc().open(Os.cString(slavePath.toString()), LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC, 0);
            assertTrue(slave >= 0, "open " + slavePath);
            int[] exclusive = {-1};
            assertEquals(0, Os.libc().ioctl(slave, TIOCGEXCL, exclusive), "TIOCGEXCL");
            assertEquals(0, exclusive[0], "the tty is still held exclusive after the failed start");
        } finally {
            if (slave >= 0) {
                Os.libc().close(slave);
            }
            Os.libc().close(master);
        }
    }

    /** As EventLoop does with a handler's or a timer's exception: logged (here: dropped), and the loop goes on. */
    private static void asTheEventLoopDoes(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            // EventLoop logs "handler for fd N failed" or "timer failed" and goes on
        }
    }

    private boolean watched(int fd) {
        ScriptedLoop.FakeRegistration r = loop.registration(fd);
        assertNotNull(r);
        return !r.cancelled() && (r.reading() || r.writing());
    }

    private static Path unlock(int master) {
        LibC libc = Os.libc();
        assertEquals(0, libc.grantpt(master));
        assertEquals(0, libc.unlockpt(master));
        byte[] name = new byte[128];
        assertEquals(0, libc.ptsname_r(master, name, name.length));
        int end = 0;
        while (end < name.length && name[end] != 0) {
            end++;
        }
        return Path.of(new String(name, 0, end, StandardCharsets.US_ASCII));
    }
}
