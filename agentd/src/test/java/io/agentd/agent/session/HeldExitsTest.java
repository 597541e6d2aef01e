package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.SessionAttach;
import org.junit.jupiter.api.Test;

/**
 * Exits held for an attach are bounded in number: a host that starts short detached commands and
 * leaves cannot make the agent hold sessions without bound; the oldest exit goes first. Session n is
 * pid 100+n with fds 10n+10..10n+13, on a scripted loop.
 */
class HeldExitsTest {
    private static final int SESSIONS = SessionDirectory.MAX_HELD_EXITS + 2;
    private final ScriptedLoop loop = new ScriptedLoop();
    private final RecordingHost out = new RecordingHost();
    private final SessionHost host = new SessionHost(1, out);
    private final ScriptedSessions scripted = new ScriptedSessions(loop, children());

    private static Child[] children() {
        Child[] children = new Child[SESSIONS];
        for (int n = 0; n < SESSIONS; n++) {
            children[n] = new Child(100 + n, 10 * n + 13, 10 * n + 10, 10 * n + 11, 10 * n + 12, false);
        }
        return children;
    }

    @Test
    void pastTheLimitTheOldestHeldExitIsForgottenFirst() {
        for (int n = 0; n < SESSIONS; n++) {
            scripted.sessions.onExecRequest(host, 1000 + n, ExecRequest.of("true").withDetachable(true));
        }
        scripted.sessions.killOwned(1, id -> true); // the host leaves: detachable ones run on
        assertEquals(SESSIONS, scripted.sessions.count());
        for (int n = 0; n < SESSIONS; n++) {
            scripted.eof(10 * n + 11);
            scripted.eof(10 * n + 12);
            loop.fire(10 * n + 11, Loop.READABLE);
            loop.fire(10 * n + 12, Loop.READABLE);
            scripted.exit(100 + n, 0);
            loop.fire(10 * n + 13, Loop.READABLE);
        }
        assertEquals(0, scripted.sessions.count(), "all exited");

        int before = out.frames.size();
        scripted.sessions.onAttach(host, 1, new SessionAttach(1, null, false));
        scripted.sessions.onAttach(host, 2, new SessionAttach(2, null, false));
        scripted.sessions.onAttach(host, 3, new SessionAttach(3, null, false));
        assertEquals(MessageType.CORE_ERROR, out.frames.get(before).type(), "the oldest exit was forgotten");
        assertEquals(MessageType.CORE_ERROR, out.frames.get(before + 1).type());
        assertEquals(MessageType.SESSION_ATTACHED, out.frames.get(before + 2).type(), "the third one is kept");
        assertEquals(MessageType.EXEC_EXITED, out.frames.get(before + 3).type());
    }
}
