package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * core.session.list.result always fits one frame: past what 4 MiB holds, the newest sessions are
 * left out and counted in omitted; a list that fits is whole, omitted 0 (not written).
 */
class SessionListCapTest {
    /** ~2.3 KiB listed each: cmd cut to 1024 bytes, args to 1024. */
    private static final String CMD = "c".repeat(1100);
    private static final String[] ARGS = Collections.nCopies(8, "a".repeat(128)).toArray(new String[0]);

    private static int frameBytes(Frame f) {
        return new FrameEncoder().encodedSize(f);
    }

    @Test
    void aListOfMoreSessionsThanAFrameHoldsIsCutAndSaysHowManyWereLeftOut() {
        int n = 2200; // about 5 MB listed whole
        ScriptedLoop loop = new ScriptedLoop();
        Child[] children = new Child[n];
        for (int i = 0; i < n; i++) {
            int fd = 10 + 4 * i;
            children[i] = new Child(100 + i, fd + 3, fd, fd + 1, fd + 2, false);
        }
        ScriptedSessions scripted = new ScriptedSessions(loop, children);
        RecordingHost out = new RecordingHost();
        SessionHost host = new SessionHost(1, out);
        for (int i = 0; i < n; i++) {
            scripted.sessions.onExecRequest(host, i + 1, ExecRequest.of(CMD, ARGS));
        }
        assertEquals(n, scripted.sessions.count());

        scripted.sessions.onList(host, 100_000);
        Frame answer = out.frames.get(out.frames.size() - 1);
        assertEquals(MessageType.SESSION_LIST_RESULT, answer.type(), "a list, not a core.error");
        assertTrue(frameBytes(answer) <= Protocol.MAX_FRAME_LEN, "fits a frame: " + frameBytes(answer));
        SessionListResult result = (SessionListResult) answer.payload();
        assertTrue(result.omitted() > 0);
        assertEquals(n, result.sessions().size() + result.omitted(), "every session listed or counted");
        assertEquals(1, result.sessions().get(0).session(), "the oldest first, in number order");
    }

    private static SessionInfo info(long number) {
        return new SessionInfo(number, 100, SessionDirectory.listedCmd(CMD), SessionDirectory.listedArgs(List.of(ARGS)),
                false, null, SessionInfo.RUNNING, 1_795_000_000_000L, null, null, 0, 0, 0, 0, true, false);
    }

    @Test
    void theCutListIsAsLongAsTheFrameAllows() {
        List<SessionInfo> infos = new ArrayList<>();
        for (int i = 1; i <= 100; i++) {
            infos.add(info(i));
        }
        int max = 50_000;
        SessionListResult cut = SessionDirectory.fitted(7, infos, max);
        Frame frame = new Frame(7, MessageType.SESSION_LIST_RESULT, cut);
        assertTrue(frameBytes(frame) <= max, frameBytes(frame) + " bytes");
        assertEquals(100, cut.sessions().size() + cut.omitted());
        SessionListResult oneMore = new SessionListResult(infos.subList(0, cut.sessions().size() + 1), cut.omitted() - 1);
        assertTrue(frameBytes(new Frame(7, MessageType.SESSION_LIST_RESULT, oneMore)) > max - 64,
                "at most the slack short of one more entry");
    }

    @Test
    void aListThatFitsIsWholeWithNothingOmitted() {
        List<SessionInfo> infos = List.of(info(1), info(2));
        SessionListResult whole = SessionDirectory.fitted(7, infos, Protocol.MAX_FRAME_LEN);
        assertEquals(infos, whole.sessions());
        assertEquals(0, whole.omitted());
        assertEquals(new FrameEncoder().encodedSize(new Frame(7, MessageType.SESSION_LIST_RESULT,
                new SessionListResult(infos))), frameBytes(new Frame(7, MessageType.SESSION_LIST_RESULT, whole)),
                "byte for byte the frame an old host knows");
    }

    /**
     * While the host reads nothing (its queue past its mark) or every host's queues together are past
     * the agent's budget, a list is fitted to 64 KiB, the rest counted in omitted: 62 hosts that
     * read nothing, each asking for a 4 MiB list, took the agent past the JVM's direct-memory limit
     * and ended it.
     */
    @Test
    void underOutputPressureAListIsFittedToASmallFrame() {
        int n = 200; // about 460 KB listed whole
        ScriptedLoop loop = new ScriptedLoop();
        Child[] children = new Child[n];
        for (int i = 0; i < n; i++) {
            int fd = 10 + 4 * i;
            children[i] = new Child(100 + i, fd + 3, fd, fd + 1, fd + 2, false);
        }
        ScriptedSessions scripted = new ScriptedSessions(loop, children);
        boolean[] agentOverBudget = {false};
        scripted.sessions.limitLargeAnswersBy(() -> agentOverBudget[0]);
        RecordingHost out = new RecordingHost();
        SessionHost host = new SessionHost(1, out);
        for (int i = 0; i < n; i++) {
            scripted.sessions.onExecRequest(host, i + 1, ExecRequest.of(CMD, ARGS));
        }

        scripted.sessions.onList(host, 100_000);
        SessionListResult whole = (SessionListResult) out.frames.get(out.frames.size() - 1).payload();
        assertEquals(n, whole.sessions().size(), "no pressure: the whole list");

        out.acceptsOutput = false; // this host reads nothing
        scripted.sessions.onList(host, 100_001);
        Frame cut = out.frames.get(out.frames.size() - 1);
        assertTrue(frameBytes(cut) <= SessionListing.LIST_UNDER_PRESSURE_BYTES, frameBytes(cut) + " bytes");
        SessionListResult cutList = (SessionListResult) cut.payload();
        assertTrue(cutList.omitted() > 0);
        assertEquals(n, cutList.sessions().size() + cutList.omitted(), "every session listed or counted");

        out.acceptsOutput = true;
        agentOverBudget[0] = true; // every host's queues together are full
        scripted.sessions.onList(host, 100_002);
        Frame cutAgain = out.frames.get(out.frames.size() - 1);
        assertTrue(frameBytes(cutAgain) <= SessionListing.LIST_UNDER_PRESSURE_BYTES, frameBytes(cutAgain) + " bytes");
    }
}
