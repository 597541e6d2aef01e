package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.Profile;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import java.io.UncheckedIOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A start that fails after the spawn succeeded: the loop refuses one of the child's fds (epoll_ctl
 * ENOSPC, as past fs.epoll.max_user_watches), or the starter throws. The child is killed, its fds
 * closed once, nothing is left in the loop or the registry, and the host gets one failed (never
 * started). Pipes: stdin 10, stdout 11, stderr 12, pidfd 13; a PTY master is 20. Pid 100.
 */
class SessionStartFailureTest {
    private static final int ENOSPC = 28;

    private final ScriptedLoop scripted = new ScriptedLoop();
    private final ScriptedIo io = new ScriptedIo();
    private final RecordingHost out = new RecordingHost();
    private final SessionHost host = new SessionHost(1, out);
    /** The fd whose first read or write interest epoll refuses; -1 for none. */
    private int refusedFd = -1;

    /** The scripted loop, but epoll_ctl(ADD) of {@link #refusedFd} fails with ENOSPC. */
    private final Loop loop = new Loop() {
        @Override
        public Registration register(int fd, Handler handler) {
            Registration r = scripted.register(fd, handler);
            return new Registration() {
                private void refuse(boolean on) {
                    if (on && fd == refusedFd) {
                        throw new UncheckedIOException(new OsException("epoll_ctl(ADD)", ENOSPC));
                    }
                }

                @Override
                public int fd() {
                    return fd;
                }

                @Override
                public void setRead(boolean on) {
                    refuse(on);
                    r.setRead(on);
                }

                @Override
                public void setWrite(boolean on) {
                    refuse(on);
                    r.setWrite(on);
                }

                @Override
                public void setEdgeTriggered(boolean on) {
                    r.setEdgeTriggered(on);
                }

                @Override
                public boolean reading() {
                    return r.reading();
                }

                @Override
                public boolean writing() {
                    return r.writing();
                }

                @Override
                public void cancel() {
                    r.cancel();
                }
            };
        }

        @Override
        public Timer schedule(long delayMillis, Runnable task) {
            return scripted.schedule(delayMillis, task);
        }

        @Override
        public void stop() {
            scripted.stop();
        }
    };

    private Sessions sessions(Sessions.Starter starter) {
        return new Sessions(loop, starter, new SessionDefaults(null, null, List.of(), Profile.DEFAULT, 250, 2000,
                1024, 4096, 512), io);
    }

    private ExecFailed failedOnly() {
        assertEquals(List.of(MessageType.EXEC_FAILED), out.types(), "failed, never started");
        return (ExecFailed) out.frames.get(0).payload();
    }

    private void assertClosedOnce(int... fds) {
        for (int fd : fds) {
            assertEquals(1, io.closes(fd), "fd " + fd + " closed once");
        }
    }

    @Test
    void aPipeSessionWhoseOutputTheLoopRefusesIsKilledClosedAndAnsweredFailed() {
        refusedFd = 12; // stderr: stdout is in the loop already
        Sessions sessions = sessions((spec, cgroupFd) -> new Child(100, 13, 10, 11, 12, false));
        sessions.onExecRequest(host, 5, ExecRequest.of("sleep", "60"));

        ExecFailed failed = failedOnly();
        assertEquals("resource_limit", failed.kind());
        assertEquals(ENOSPC, failed.errno());
        assertEquals("epoll_ctl(ADD)", failed.stage());
        assertEquals(List.of("100:" + LibC.SIGKILL), io.signals, "the child is killed");
        assertClosedOnce(10, 11, 12, 13);
        assertEquals(0, scripted.liveRegistrations(), "nothing left in the loop");
        assertEquals(0, sessions.count());
        assertFalse(sessions.isRunning(host, 5));
        assertEquals(0, scripted.pendingTimers());
    }

    /** A detachable session's ring of kept output, opened before the refusal, is closed with it. */
    @Test
    void aDetachableSessionWhoseOutputTheLoopRefusesLeavesNoRingOpen() {
        refusedFd = 12;
        Sessions sessions = sessions((spec, cgroupFd) -> new Child(100, 13, 10, 11, 12, false));
        sessions.onExecRequest(host, 5, ExecRequest.of("sleep", "60").withDetachable(true));
        assertEquals("resource_limit", failedOnly().kind());
        assertEquals(0, sessions.retainedRings(), "no ring left behind for the eviction scan to walk for ever");
    }

    @Test
    void aPtySessionWhosePidfdTheLoopRefusesIsKilledClosedAndAnsweredFailed() {
        refusedFd = 13;
        Sessions sessions = sessions((spec, cgroupFd) -> new Child(100, 13, 20, 20, -1, true));
        ExecRequest req = ExecRequest.of("sleep", "60");
        sessions.onExecRequest(host, 5, req);

        assertEquals("resource_limit", failedOnly().kind());
        assertEquals(List.of("100:" + LibC.SIGKILL), io.signals);
        assertClosedOnce(20, 13);
        assertEquals(0, scripted.liveRegistrations());
        assertEquals(0, sessions.count());
    }

    @Test
    void aStarterThatThrowsIsAnsweredFailedAndTheIdStaysFree() {
        Sessions sessions = sessions((spec, cgroupFd) -> {
            throw new IllegalStateException("scripted bug in the spawner");
        });
        sessions.onExecRequest(host, 5, ExecRequest.of("true"));
        ExecFailed failed = failedOnly();
        assertEquals("other", failed.kind());
        assertTrue(failed.message().contains("scripted bug"), failed.message());
        assertEquals(List.of(), io.signals, "no child to kill");
        assertEquals(0, sessions.count());
    }

    @Test
    void afterARefusedStartTheNextRequestOnTheIdStarts() {
        refusedFd = 11;
        Sessions sessions = sessions((spec, cgroupFd) -> new Child(100, 13, 10, 11, 12, false));
        sessions.onExecRequest(host, 5, ExecRequest.of("sleep", "60"));
        refusedFd = -1;
        // The same fd numbers again, as the kernel would hand them out: the loop takes them.
        sessions.onExecRequest(host, 5, ExecRequest.of("sleep", "60"));
        assertEquals(List.of(MessageType.EXEC_FAILED, MessageType.EXEC_STARTED), out.types());
        assertTrue(sessions.isRunning(host, 5));
    }
}
