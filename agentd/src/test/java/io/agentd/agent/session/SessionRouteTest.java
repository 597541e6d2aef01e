package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Output announced to a host's queue (spliced: the bytes wait in the session's pipe until the queue
 * writes them) belongs to that queue until it has read them out: a session that leaves a host that
 * is still connected has it read them out first, and a later take goes to that same queue, never
 * to nobody (the pump would then read or close a pipe the old queue still writes from).
 */
class SessionRouteTest {
    private static final int STDOUT_PIPE = 41;
    private static final int STDERR_PIPE = 42;

    @Test
    void aDetachWhileTheHostIsConnectedHasItsQueueReadOutWhatItWasAnnounced() {
        RecordingHost host = new RecordingHost();
        host.acceptsSplicedData = true;
        SessionRoute route = new SessionRoute(new SessionHost(1, host), 7);
        List<Integer> released = new ArrayList<>();
        route.sendSplicedData(7, MessageType.EXEC_STDOUT, STDOUT_PIPE, 65536, released::add);
        route.sendSplicedData(7, MessageType.EXEC_STDERR, STDERR_PIPE, 40000, released::add);

        route.detach();
        host.takenOutOf.sort(Integer::compare);
        assertEquals(List.of(STDOUT_PIPE, STDERR_PIPE), host.takenOutOf, "read out for the host they were announced to");
        assertEquals(65536 + 40000, route.offset(), "those bytes were sent: the offset keeps them");
    }

    @Test
    void aSessionMovedToAnotherHostLeavesNothingAnnouncedOnTheFirst() {
        RecordingHost first = new RecordingHost();
        first.acceptsSplicedData = true;
        RecordingHost second = new RecordingHost();
        SessionRoute route = new SessionRoute(new SessionHost(1, first), 7);
        route.sendSplicedData(7, MessageType.EXEC_STDOUT, STDOUT_PIPE, 65536, left -> { });
        route.retarget(new SessionHost(2, second), 9);
        assertEquals(List.of(STDOUT_PIPE), first.takenOutOf, "moved: the first host's queue read its bytes out");
        assertEquals(List.of(), second.takenOutOf);
    }
}
