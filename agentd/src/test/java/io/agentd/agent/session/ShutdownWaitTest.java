package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.payload.ExecRequest;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The shutdown's wait for its sessions, on a scripted loop: SIGTERM, SIGKILL after the grace (2000 ms
 * in {@link ScriptedSessions}), and a leader that still has not exited 10 s (and the drain window) after its SIGKILL (one in
 * uninterruptible sleep, which takes the signal only when its I/O returns) no longer holds the agent.
 */
class ShutdownWaitTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private final ScriptedSessions scripted = new ScriptedSessions(loop, new Child(100, 13, 10, 11, 12, false));
    private static final long DRAIN_MILLIS = 250; // ScriptedSessions' --drain-ms
    private final AtomicInteger idle = new AtomicInteger();

    private void startAndShutDown() {
        scripted.sessions.setOnIdle(idle::incrementAndGet);
        scripted.sessions.onExecRequest(new SessionHost(1, new RecordingHost()), 5, ExecRequest.of("sleep", "60"));
        scripted.sessions.beginShutdown();
        loop.advance(2000);
        assertEquals(List.of("100:" + LibC.SIGTERM, "100:" + LibC.SIGKILL), scripted.signals());
    }

    @Test
    void aLeaderThatDoesNotDieAfterItsKillStopsHoldingTheShutdownTenSecondsLater() {
        startAndShutDown();
        loop.advance(SessionsShutdown.KILLED_EXIT_WAIT_MILLIS + DRAIN_MILLIS - 1);
        assertEquals(0, idle.get(), "still waiting for the leader's exit (and its drain window)");
        loop.advance(1);
        assertEquals(1, idle.get(), "the shutdown goes on without it");
        assertEquals(1, scripted.sessions.count(), "the session is not made to look over");
    }

    @Test
    void aLeaderThatDiesOfItsKillEndsTheWaitAsBeforeAndNothingMoreHappensLater() {
        startAndShutDown();
        scripted.exit(100, 137);
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(13, io.agentd.agent.loop.Loop.READABLE);
        loop.fire(11, io.agentd.agent.loop.Loop.READABLE);
        loop.fire(12, io.agentd.agent.loop.Loop.READABLE);
        loop.advance(1000); // past the drain window
        assertTrue(scripted.sessions.isEmpty());
        assertEquals(1, idle.get());
        loop.advance(SessionsShutdown.KILLED_EXIT_WAIT_MILLIS);
        assertEquals(1, idle.get(), "no second idle from the deadline");
        assertFalse(loop.stopped());
    }
}
