package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.Profile;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
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

    /**
     * A session (and so its held exit) keeps what the list shows of its request, not the request: its
     * env and args (up to a frame's 2 MiB) go with the start. Before, each session held its whole spec
     * for its life and its exit's, so a few dozen detached requests with a large env filled the heap.
     */
    @Test
    void aSessionKeepsWhatTheListShowsNotTheRequestsEnvAndArgs() throws Exception {
        List<WeakReference<SpawnSpec>> specs = new ArrayList<>();
        Sessions sessions = new Sessions(loop, (spec, cgroupFd) -> {
            specs.add(new WeakReference<>(spec));
            return new Child(100, 13, 10, 11, 12, false);
        }, new SessionDefaults(null, null, List.of(), Profile.DEFAULT, 250, 2000, 1024, 4096, 512), new ScriptedIo());
        List<String> args = new ArrayList<>();
        for (int n = 0; n < 100; n++) {
            args.add("argument " + n);
        }
        sessions.onExecRequest(host, 7, new ExecRequest("printenv", args, List.of("BIG=" + "x".repeat(1 << 20)), null,
                null, false, 24, 80, List.of(), null, false, null, null, null).withDetachable(true));
        assertEquals(1, specs.size());
        for (int tries = 0; specs.get(0).get() != null && tries < 50; tries++) {
            System.gc();
            Thread.sleep(20);
        }
        assertTrue(specs.get(0).get() == null, "the session still holds its spec (the request's env and args)");

        sessions.onList(host, 9);
        SessionListResult list = (SessionListResult) out.frames.get(out.frames.size() - 1).payload();
        SessionInfo info = list.sessions().get(0);
        assertEquals("printenv", info.cmd());
        assertEquals(SessionDirectory.LIST_ARGS_MAX_ENTRIES + 1, info.args().size(), info.args().toString());
        assertTrue(info.args().get(SessionDirectory.LIST_ARGS_MAX_ENTRIES).startsWith("… ("), info.args().toString());
    }
}
