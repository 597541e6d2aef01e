package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A frame answered off the loop (an exec.request, whose spawn runs on the spawner thread): the link
 * holds what its host sent after it, and the host's hang-up, until the answer is in
 * ({@link PortLink#holdInput}, {@link PortLink#releaseInput}). On a scripted loop, the port one end
 * of a socket pair; frame 1 of each test is the one held.
 */
class StartHoldTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private final PortLink link = new PortLink(loop, 1 << 20, 0);
    private final List<Long> dispatched = new ArrayList<>();
    private final List<Boolean> hangups = new ArrayList<>();
    private final int[] pair = SocketPairs.open();
    /** Whether frame 1 is answered before its onFrame returns (a request refused at once). */
    private boolean answeredAtOnce;

    StartHoldTest() {
        link.setListener(new PortLinkTest.RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                dispatched.add(frame.id());
                link.send(new Frame(frame.id(), MessageType.CORE_PONG, Empty.INSTANCE));
                if (frame.id() == 1) {
                    link.holdInput();
                    if (answeredAtOnce) {
                        link.releaseInput();
                    }
                }
            }
        });
        link.attach(pair[0], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
        loop.fire(pair[0], Loop.WRITABLE); // connected
    }

    @AfterEach
    void close() {
        Os.close(pair[0]);
        if (pair[1] >= 0) {
            Os.close(pair[1]);
        }
    }

    private void hostCloses() {
        Os.close(pair[1]);
        pair[1] = -1;
    }

    @Test
    void theFramesAfterAHeldOneWaitUnreadUntilItIsAnsweredThenGoInOrder() {
        PortLinkTest.hostWrites(pair[1], PortLinkTest.pings(3));
        loop.fire(pair[0], Loop.READABLE);
        assertEquals(List.of(1L), dispatched);
        loop.fire(pair[0], Loop.READABLE); // what was read is held; the fd reports readable again
        assertFalse(loop.registration(pair[0]).reading(), "nothing more is read while the frame is held");
        for (int turn = 0; turn < 3; turn++) {
            loop.turn();
        }
        assertEquals(List.of(1L), dispatched, "turns of the loop go by, the rest waits");

        link.releaseInput();
        assertEquals(List.of(1L, 2L, 3L), dispatched, "dispatched as soon as the answer is in");
        assertTrue(loop.registration(pair[0]).reading(), "read again once what waited went");
    }

    @Test
    void aFrameAnsweredBeforeItsHandlerReturnsHoldsNothing() {
        answeredAtOnce = true;
        PortLinkTest.hostWrites(pair[1], PortLinkTest.pings(3));
        loop.fire(pair[0], Loop.READABLE);
        assertEquals(List.of(1L, 2L, 3L), dispatched, "all in the one readiness");
        assertTrue(loop.registration(pair[0]).reading());
        assertFalse(link.reader().holdsFrames(), "nothing left for a later turn");
    }

    /**
     * The host sends three frames and closes: the hang-up comes while frame 1 is held. It is
     * reported once (the fd edge-triggered meanwhile, not a hang-up in every turn of a spawn that
     * may take seconds), and taken after frames 2 and 3, as it is without a hold.
     */
    @Test
    void aHangUpWhileAFrameIsHeldFollowsTheFramesSentBeforeIt() {
        PortLinkTest.hostWrites(pair[1], PortLinkTest.pings(3));
        hostCloses();
        loop.fire(pair[0], Loop.READABLE | Loop.HANGUP);
        assertEquals(List.of(1L), dispatched);
        assertEquals(List.of(), hangups, "the hang-up waits for the held frame");
        assertTrue(loop.registration(pair[0]).edgeTriggered(), "reported once while it waits");
        assertFalse(link.hangUpIfGone(), "nor is it run on request: it follows the held frame");

        link.releaseInput(); // no second report of the hang-up needed: a port's host may be back by then
        assertEquals(List.of(1L, 2L, 3L), dispatched, "what it sent before it went");
        assertEquals(List.of(true), hangups, "then the hang-up");
    }

    /**
     * The host closes before frame 1's answer is written: the end-of-turn write fails (EPIPE) while
     * the frame is held. That does not hang up and drop frames 2 and 3 unhandled: they are
     * dispatched once frame 1 is answered, and then the link hangs up.
     */
    @Test
    void aWriteThatFailsWhileAFrameIsHeldWaitsForTheFramesBehindIt() {
        PortLinkTest.hostWrites(pair[1], PortLinkTest.pings(3));
        hostCloses();
        loop.fire(pair[0], Loop.READABLE);
        loop.turn(); // the end-of-turn write: EPIPE
        assertEquals(List.of(1L), dispatched);
        assertEquals(List.of(), hangups);

        link.releaseInput();
        for (int turn = 0; turn < 5 && hangups.isEmpty(); turn++) {
            loop.turn();
        }
        assertEquals(List.of(1L, 2L, 3L), dispatched);
        assertEquals(List.of(true), hangups);
    }
}
