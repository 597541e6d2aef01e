package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionAttach;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The link's state machine on a scripted loop: the port is one end of a pipe (the kernel moves the
 * bytes; the test decides when the link hears of readiness). No agent process.
 */
class PortLinkTest {
    private static final long HIGH_WATER = 1000;
    private final ScriptedLoop loop = new ScriptedLoop();
    private final PortLink link = new PortLink(loop, HIGH_WATER, 0);
    private final List<String> events = new ArrayList<>();
    private final List<Boolean> hangups = new ArrayList<>();
    private final int[] pipe = new int[2];

    /** Records what the link tells its connection into {@link #events}. */
    private final PortLink.Listener recorder;

    PortLinkTest() {
        assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        recorder = new PortLink.Listener() {
            @Override
            public void onConnected() {
                events.add("connected");
            }

            @Override
            public void onFrame(Frame frame) {
                events.add("frame " + frame.type().wire());
            }

            @Override
            public void onProtocolError(ProtocolException e) {
                events.add("error");
            }

            @Override
            public void onOutputResumed() {
                events.add("resumed");
            }

            @Override
            public void onFlushed() {
                events.add("flushed");
            }
        };
        link.setListener(recorder);
    }

    @AfterEach
    void closePipe() {
        Os.close(pipe[0]);
        Os.close(pipe[1]);
    }

    /**
     * A released link (its socket connection over) is never attached again, and what is sent to it
     * afterwards is dropped: spliced data is handed back at once with all its bytes still in the pipe.
     */
    @Test
    void aReleasedLinkTakesNoAttachAndDropsWhatIsSentToIt() {
        link.send(new Frame(5, MessageType.CORE_PONG, Empty.INSTANCE));
        assertTrue(link.queuedBytes() > 0);
        link.release();
        assertEquals(0, link.queuedBytes(), "what was queued went with the segments");
        link.send(new Frame(5, MessageType.CORE_PONG, Empty.INSTANCE));
        link.sendData(5, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        int[] handedBack = {-1};
        link.sendSplicedData(5, MessageType.EXEC_STDOUT, pipe[0], 7, left -> handedBack[0] = left);
        assertEquals(0, link.queuedBytes(), "nothing queued after the release");
        assertEquals(7, handedBack[0], "the spliced bytes are the caller's again, all of them");
        assertFalse(link.acceptsSplicedData());
        link.release(); // a second release is nothing
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> link.attach(pipe[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add));
    }

    /** The link writes into the pipe's write end: frames queue until the test says it is writable. */
    private int connectOnWriteEnd() {
        int port = pipe[1];
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        loop.fire(port, Loop.WRITABLE);
        assertEquals(List.of("connected"), events);
        assertFalse(loop.registration(port).writing(), "nothing queued: no write interest");
        events.clear();
        return port;
    }

    private void queueOutput(int bytes) {
        link.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[bytes]));
    }

    @Test
    void sessionOutputStopsAtTheHighWaterMarkAndResumesOnceTheHostTookIt() {
        int port = connectOnWriteEnd();
        queueOutput(500);
        assertTrue(link.acceptsOutput());
        queueOutput(600);
        assertFalse(link.acceptsOutput(), "past the mark: sessions stop reading");
        assertEquals(List.of(), events, "written at the end of the loop's turn, not at once");

        loop.advance(0);
        assertTrue(link.acceptsOutput());
        assertEquals(List.of("resumed", "flushed"), events);
        assertFalse(loop.registration(port).writing(), "nothing left to write: epoll was never asked");
    }

    @Test
    void writeInterestIsArmedOnlyWhenThePortIsFullAndTheRestGoesOnceItIsWritable() throws Exception {
        int port = connectOnWriteEnd();
        queueOutput(100_000); // more than the pipe's 64 KiB
        assertFalse(loop.registration(port).writing(), "no epoll round before the first write");
        loop.advance(0);
        assertTrue(loop.registration(port).writing(), "the pipe filled: wait for it to drain");
        assertEquals(List.of(), events);

        ByteBuffer sink = ByteBuffer.allocateDirect(128 * 1024);
        assertTrue(Os.read(pipe[0], sink) > 0);
        loop.fire(port, Loop.WRITABLE);
        sink.clear();
        Os.read(pipe[0], sink);
        loop.fire(port, Loop.WRITABLE);
        assertEquals(List.of("resumed", "flushed"), events);
        assertFalse(loop.registration(port).writing());
    }

    @Test
    void aHostThatSendsWithoutReadingHasItsInputPausedUntilTheQueueIsBackUnderTheMark() {
        int port = connectOnWriteEnd();
        assertTrue(loop.registration(port).reading());
        queueOutput((int) (HIGH_WATER * QueueWaterMarks.INPUT_PAUSE_FACTOR));
        assertFalse(loop.registration(port).reading(), "input paused");
        loop.advance(0);
        assertTrue(loop.registration(port).reading(), "input resumed");
    }

    /**
     * Links share the agent's budget of queued output (OutboundTotal): while another host's queue
     * holds the agent past it, a host that reads nothing has its input paused at the mark, not at
     * four times the mark; once the queues are written, it is read again. Before, only each link's
     * own bound counted: 64 hosts not reading queued 4 MiB each, past the JVM's direct memory.
     */
    @Test
    void pastTheAgentsBudgetAHostNotReadingIsPausedAtTheMark() {
        OutboundTotal total = new OutboundTotal(3 * HIGH_WATER);
        PortLink first = new PortLink(loop, HIGH_WATER, 0, total);
        PortLink second = new PortLink(loop, HIGH_WATER, 0, total);
        first.setListener(recorder);
        second.setListener(recorder);
        int[] other = new int[2];
        assertEquals(0, Os.libc().pipe2(other, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        try {
            first.attach(pipe[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
            second.attach(other[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
            loop.fire(pipe[1], Loop.WRITABLE);
            loop.fire(other[1], Loop.WRITABLE);
            second.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[(int) (2.5 * HIGH_WATER)]));
            assertTrue(loop.registration(other[1]).reading(), "under its own bound (4x the mark) and the budget");
            first.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[(int) HIGH_WATER]));
            assertFalse(loop.registration(pipe[1]).reading(), "at the mark, with the agent past its budget: paused");
            int[] backWithin = {0};
            total.onBackWithinBudget(() -> backWithin[0]++);
            loop.advance(0); // both queues written into their pipes
            assertEquals(0, first.queuedBytes() + second.queuedBytes());
            assertEquals(1, backWithin[0], "told once that the queues are back within the budget (fs answers wait for it)");
            assertTrue(loop.registration(pipe[1]).reading(), "read again once its queue drained");
            first.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[(int) HIGH_WATER]));
            assertTrue(loop.registration(pipe[1]).reading(), "under the budget, the mark alone does not pause");
        } finally {
            Os.close(other[0]);
            Os.close(other[1]);
        }
    }

    /**
     * An attach replays up to a session's whole kept output, and past the agent's budget the pause
     * mark bounds a host only to the mark plus one answer: an attach from a host that has not read
     * all of its queue waits undispatched, the frames it sent after it behind it, until it has read
     * it; then they are dispatched in order. Other hosts that do not read never hold up one that
     * does: its attach with nothing queued goes at once, the agent past its budget or not. A host
     * that leaves while its attach waits has it dropped.
     */
    @Test
    void pastTheAgentsBudgetAnAttachWaitsUntilItsHostHasReadItsQueue() throws Exception {
        OutboundTotal total = new OutboundTotal(3 * HIGH_WATER);
        PortLink attacher = new PortLink(loop, HIGH_WATER, 0, total);
        PortLink hog = new PortLink(loop, HIGH_WATER, 0, total); // never connected: its queue stays
        attacher.setListener(recorder);
        hog.setListener(recorder);
        int[] pair = SocketPairs.open();
        int[] other = new int[2];
        assertEquals(0, Os.libc().pipe2(other, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        try {
            attacher.attach(pair[0], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            hog.attach(other[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
            loop.fire(pair[0], Loop.WRITABLE);
            hog.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[(int) (3.5 * HIGH_WATER)]));
            assertTrue(total.over());
            events.clear();

            hostWrites(pair[1], new Frame(1, MessageType.SESSION_ATTACH, new SessionAttach(5, null, false)));
            loop.fire(pair[0], Loop.READABLE);
            assertEquals(List.of("frame core.session.attach"), events, "nothing queued for it: at once");

            events.clear();
            attacher.sendData(9, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[100])); // not yet read
            hostWrites(pair[1], new Frame(2, MessageType.SESSION_ATTACH, new SessionAttach(6, null, false)),
                    new Frame(3, MessageType.CORE_PING, Empty.INSTANCE));
            loop.fire(pair[0], Loop.READABLE);
            assertEquals(List.of(), events, "the attach waits, the ping behind it");
            assertFalse(loop.registration(pair[0]).reading(), "nothing more is read meanwhile");

            loop.advance(0); // its queue is written to the host
            loop.advance(0); // the turn after: what waited is dispatched
            assertTrue(total.over(), "the other host still reads nothing");
            assertEquals(List.of("frame core.session.attach", "frame core.ping"),
                    events.stream().filter(e -> e.startsWith("frame")).toList());
            assertTrue(loop.registration(pair[0]).reading(), "read again");

            events.clear();
            attacher.sendData(9, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[100]));
            hostWrites(pair[1], new Frame(4, MessageType.SESSION_ATTACH, new SessionAttach(5, null, false)));
            loop.fire(pair[0], Loop.READABLE);
            assertEquals(List.of(), events, "waits again");
            Os.close(pair[1]);
            pair[1] = -1;
            int hangupsBefore = hangups.size();
            loop.fire(pair[0], Loop.HANGUP);
            assertEquals(hangupsBefore + 1, hangups.size(), "the host's hang-up ran");
            loop.advance(0);
            loop.advance(0);
            assertFalse(events.contains("frame core.session.attach"), "a gone host's attach is never dispatched: " + events);
        } finally {
            Os.close(pair[0]);
            if (pair[1] >= 0) {
                Os.close(pair[1]);
            }
            Os.close(other[0]);
            Os.close(other[1]);
        }
    }

    /**
     * A host that reads, with a session of its own writing without pause, never has an empty queue:
     * its attach waits only until it has read what was queued for it before the attach, live output
     * queued meanwhile or not, while other hosts that read nothing keep the agent past its budget.
     * The wait ended only with an empty queue before, and such a host's attach, and every frame it
     * sent after it (stdin, signals, pings), waited for good behind 31 or more hosts not reading (a
     * review). A host that then reads nothing has its next attach wait: the replay the first one
     * queued, unread, keeps it.
     */
    @Test
    void pastTheAgentsBudgetAnAttachGoesOnceItsHostReadWhatWasQueuedBeforeItThoughItsQueueNeverEmpties()
            throws Exception {
        // The socket takes up to its send buffer at a time (whole skbs freed as the host reads): what
        // stays queued is kept at twice that, so that no write empties it.
        int chunk = 64 * 1024;
        long floor = Math.max(8L * chunk,
                2 * Long.parseLong(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/net/core/wmem_default")).trim()));
        long highWater = 2 * floor;
        OutboundTotal total = new OutboundTotal(3 * highWater);
        PortLink attacher = new PortLink(loop, highWater, 0, total);
        PortLink hog = new PortLink(loop, highWater, 0, total); // never connected: its queue stays
        List<String> frames = new ArrayList<>();
        List<Long> queuedAtAttach = new ArrayList<>();
        attacher.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                frames.add(frame.type().wire() + " " + frame.id());
                if (frame.type() == MessageType.SESSION_ATTACH) {
                    queuedAtAttach.add(attacher.queuedBytes());
                    attacher.sendData(frame.id(), MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[chunk])); // its replay
                }
            }
        });
        hog.setListener(new RecordingListener());
        int[] pair = SocketPairs.open();
        int[] other = new int[2];
        assertEquals(0, Os.libc().pipe2(other, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        ByteBuffer hostIn = ByteBuffer.allocateDirect(chunk);
        try {
            attacher.attach(pair[0], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            hog.attach(other[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
            loop.fire(pair[0], Loop.WRITABLE);
            for (long queued = 0; queued <= 3 * highWater; queued += chunk) {
                hog.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[chunk]));
            }
            assertTrue(total.over());

            // The attacher's session writes until the socket is full and the floor is queued.
            for (int i = 0; i < 10_000 && attacher.queuedBytes() < floor; i++) {
                attacher.sendData(1, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[chunk]));
                loop.advance(0);
            }
            assertTrue(attacher.queuedBytes() >= floor && attacher.queuedBytes() < highWater,
                    "the socket is full, output queued, under the mark: " + attacher.queuedBytes());
            assertTrue(loop.registration(pair[0]).writing());

            hostWrites(pair[1], new Frame(2, MessageType.SESSION_ATTACH, new SessionAttach(5, null, false)),
                    new Frame(3, MessageType.CORE_PING, Empty.INSTANCE));
            loop.fire(pair[0], Loop.READABLE);
            assertEquals(List.of(), frames, "the attach waits, the ping behind it");

            // The host reads a chunk at a time; its session's output comes on as fast: never empty.
            int rounds = 0;
            for (; rounds < 1000 && frames.isEmpty(); rounds++) {
                while (attacher.queuedBytes() < floor) {
                    attacher.sendData(1, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[chunk]));
                }
                hostIn.clear();
                Os.libc().read(pair[1], hostIn, hostIn.capacity());
                loop.fire(pair[0], Loop.WRITABLE);
                assertTrue(attacher.queuedBytes() > 0, "its queue never empties");
                loop.advance(0);
            }
            assertTrue(total.over(), "the other host still reads nothing");
            assertEquals(List.of("core.session.attach 2", "core.ping 3"), frames,
                    "dispatched once the host read what was queued before it, after " + rounds + " rounds");
            assertTrue(queuedAtAttach.get(0) > 0, "with its queue not empty");
            assertTrue(loop.registration(pair[0]).reading(), "read again");

            // Now it reads nothing: its next attach waits, the replay and its live output unread.
            frames.clear();
            hostWrites(pair[1], new Frame(4, MessageType.SESSION_ATTACH, new SessionAttach(6, null, false)),
                    new Frame(5, MessageType.CORE_PING, Empty.INSTANCE));
            loop.fire(pair[0], Loop.READABLE);
            for (int i = 0; i < 100; i++) {
                loop.fire(pair[0], Loop.WRITABLE);
                loop.advance(0);
            }
            assertEquals(List.of(), frames, "a host that reads nothing waits");
            assertFalse(loop.registration(pair[0]).reading(), "nothing more is read meanwhile");

            // It reads again: the replay and the rest go, and so do the attach and the ping.
            for (int i = 0; i < 1000 && frames.isEmpty(); i++) {
                hostIn.clear();
                Os.libc().read(pair[1], hostIn, hostIn.capacity());
                loop.fire(pair[0], Loop.WRITABLE);
                loop.advance(0);
            }
            assertEquals(List.of("core.session.attach 4", "core.ping 5"), frames);
        } finally {
            Os.close(pair[0]);
            Os.close(pair[1]);
            Os.close(other[0]);
            Os.close(other[1]);
        }
    }

    /**
     * A host that sends without reading until its input pauses, then reads it all, and again, makes
     * two lines a cycle; they share {@link HostEventLog}'s rate (logging is synchronous on the loop
     * thread, and the guest's console is a serial port). Each line went out unlimited before.
     */
    @Test
    void pausesAndResumesInALoopLogAtTheHostEventRate() throws Exception {
        int port = connectOnWriteEnd();
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(PortLink.class);
        logger.addAppender(lines);
        ByteBuffer sink = ByteBuffer.allocateDirect(64 * 1024);
        try {
            for (int cycle = 0; cycle < 100; cycle++) {
                queueOutput((int) (HIGH_WATER * QueueWaterMarks.INPUT_PAUSE_FACTOR));
                assertFalse(loop.registration(port).reading(), "input paused in cycle " + cycle);
                loop.advance(0);
                assertTrue(loop.registration(port).reading(), "input resumed in cycle " + cycle);
                sink.clear();
                Os.read(pipe[0], sink);
            }
        } finally {
            logger.detachAppender(lines);
        }
        long flowLines = lines.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.contains("pausing port input") || m.contains("port input resumed")).count();
        assertTrue(flowLines > 0, "the first pauses and resumes are logged");
        assertTrue(flowLines <= HostEventLog.LINES_PER_SECOND,
                "at most the host-event rate in the test's second, not 200: " + flowLines);
    }

    /**
     * A frame cut by the port's hang-up (the fd took part of it, then the host side went): the host
     * that comes back gets whole frames from its first byte. Before, the rest of the cut frame went
     * first and its decoder read data bytes as a frame length.
     */
    @Test
    void aHostReturningAfterAHangUpMidFrameGetsWholeFramesFromItsFirstByte() throws Exception {
        int port = connectOnWriteEnd();
        queueOutput(100_000); // more than the pipe's 64 KiB: the write stops inside the frame
        link.send(new Frame(9, MessageType.CORE_PONG, Empty.INSTANCE));
        loop.advance(0);
        assertTrue(loop.registration(port).writing(), "the pipe took part of the frame");
        loop.fire(port, Loop.HANGUP);
        assertEquals(List.of(true), hangups);

        ByteBuffer gone = ByteBuffer.allocateDirect(128 * 1024);
        assertTrue(Os.read(pipe[0], gone) > 0); // what the host that left had been given
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        loop.fire(port, Loop.WRITABLE);
        loop.advance(0);
        ByteBuffer returned = ByteBuffer.allocate(128 * 1024);
        Os.read(pipe[0], returned);
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(returned.array(), 0, returned.position());
        Frame first = decoder.next();
        assertEquals(MessageType.CORE_PONG, first.type(), "the queued frame behind the cut one, whole");
        assertEquals(9, first.id());
        assertNull(decoder.next());
        assertEquals(0, link.queuedBytes());
    }

    /**
     * A socket's host that wrote its frames and closed before the link's first event: they are read
     * and dispatched, then the hang-up. Before, the first event's hang-up took it for a port whose
     * host side was absent, and the frames were dropped without a word.
     */
    @Test
    void aSocketHostThatWroteAndClosedBeforeTheFirstEventHasItsFramesDispatched() {
        hostWroteAPingAndAShutdownAndClosed(pipe);
        link.attach(pipe[0], PortLink.Splicing.SPLICE_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
        loop.fire(pipe[0], Loop.READABLE | Loop.HANGUP);
        assertEquals(List.of("connected", "frame core.ping", "frame core.shutdown"), events);
        assertEquals(List.of(true), hangups);
    }

    @Test
    void aHangUpBeforeTheHostWasThereIsReportedAsNeverConnected() {
        Os.close(pipe[1]);
        int port = pipe[0];
        pipe[1] = -1;
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        loop.fire(port, Loop.HANGUP);
        assertEquals(List.of(false), hangups);
        assertTrue(loop.registration(port).cancelled(), "the link let go of the fd");
    }

    @Test
    void theEndOfInputFromAConnectedHostIsOneHangUpAndTheLinkCanBeAttachedAgain() {
        int port = pipe[0];
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        loop.fire(port, Loop.READABLE); // nothing to read yet: connected
        assertEquals(List.of("connected"), events);
        Os.close(pipe[1]);
        pipe[1] = -1;
        loop.fire(port, Loop.READABLE | Loop.HANGUP);
        assertEquals(List.of(true), hangups);
        assertFalse(loop.fire(port, Loop.READABLE), "detached: no registration");

        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        assertTrue(loop.registration(port).reading());
    }

    /**
     * A host whose frames are slow to handle (each exec.request spawns) does not hold the loop: once
     * a readiness has dispatched for longer than the slice, the rest waits for the next turn, after
     * the other fds and timers, with the port unread meanwhile; then the frames go on in order.
     */
    @Test
    void framesPastTheDispatchSliceWaitForTheNextTurnInOrderWithThePortUnread() {
        long[] nanos = {0};
        List<Long> dispatched = new ArrayList<>();
        PortLink slow = new PortLink(loop, HIGH_WATER, 0, new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES),
                () -> nanos[0]);
        slow.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                dispatched.add(frame.id());
                nanos[0] += LinkReader.DISPATCH_SLICE_NANOS / 2 + 1; // two frames use up a slice
            }
        });
        int port = pipe[0];
        slow.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        hostWrites(pipe[1], pings(5));

        loop.fire(port, Loop.READABLE);
        assertEquals(List.of(1L, 2L), dispatched, "the slice ran out after two");
        assertFalse(loop.registration(port).reading(), "nothing read past the frames still waiting");

        loop.turn();
        assertEquals(List.of(1L, 2L, 3L, 4L), dispatched);
        assertFalse(loop.registration(port).reading());

        loop.turn();
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), dispatched);
        assertTrue(loop.registration(port).reading(), "all dispatched: the port is read again");
        assertEquals(List.of(), hangups);
    }

    /** A frame handler that throws (a bug) loses that frame only: the link reads the next ones in step. */
    @Test
    void aFrameWhoseHandlerThrowsIsLostAloneAndTheLinkGoesOnInStep() {
        List<Long> handled = new ArrayList<>();
        link.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                handled.add(frame.id());
                if (frame.id() == 2) {
                    throw new IllegalStateException("a bug");
                }
            }
        });
        int port = pipe[0];
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        FrameEncoder encoder = new FrameEncoder();
        ByteBuffer frames = ByteBuffer.allocateDirect(4096);
        for (long id = 1; id <= 3; id++) {
            frames.put(encoder.encode(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE)));
        }
        frames.put(encoder.encode(new Frame(4, MessageType.CORE_PING, Empty.INSTANCE)), 0, 7); // a frame's start
        assertEquals(frames.position(), Os.libc().write(pipe[1], frames.flip(), frames.remaining()));
        fireAsTheLoopDoes(port, Loop.READABLE);
        byte[] four = encoder.encode(new Frame(4, MessageType.CORE_PING, Empty.INSTANCE));
        ByteBuffer rest = ByteBuffer.allocateDirect(64).put(four, 7, four.length - 7).flip();
        assertEquals(four.length - 7, Os.libc().write(pipe[1], rest, rest.remaining()));
        fireAsTheLoopDoes(port, Loop.READABLE);
        assertEquals(List.of(1L, 2L, 3L, 4L), handled);
        assertEquals(List.of(), hangups);
    }

    /**
     * A port's host that left while its input was held (it read none of its answers) had sent more
     * that the agent never read. The next host's stream starts with its own first frame: the old
     * host's leftovers, the middle of its stream, go with the hang-up. Before, they were read as the
     * new host's first bytes, and a length read from inside a frame skipped the new host's frames.
     */
    @Test
    void aPortHostsUnreadInputGoesWithItsHangUpNotToTheNextHost() {
        List<Long> dispatched = new ArrayList<>();
        link.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                dispatched.add(frame.id());
                if (frame.id() == 1) { // its answer is large, and the host reads nothing: input pauses
                    link.sendData(1, MessageType.EXEC_STDOUT,
                            ByteBuffer.wrap(new byte[(int) (HIGH_WATER * QueueWaterMarks.INPUT_PAUSE_FACTOR)]));
                }
            }
        });
        int port = pipe[0];
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        FrameEncoder encoder = new FrameEncoder();
        byte[] three = encoder.encode(new Frame(3, MessageType.EXEC_STDIN, new ExecData(new byte[1000])));
        ByteBuffer first = ByteBuffer.allocateDirect(8192);
        first.put(encoder.encode(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE)));
        first.put(encoder.encode(new Frame(2, MessageType.CORE_PING, Empty.INSTANCE)));
        assertEquals(first.position(), Os.libc().write(pipe[1], first.flip(), first.remaining()));
        loop.fire(port, Loop.READABLE); // no loop turn: the answer stays queued, input paused
        assertEquals(List.of(1L), dispatched, "frame 2 held by the pause");
        ByteBuffer more = ByteBuffer.allocateDirect(8192).put(three, 0, 500); // the host's stream goes on, unread
        assertEquals(500, Os.libc().write(pipe[1], more.flip(), more.remaining()));

        loop.fire(port, Loop.HANGUP); // the host side goes
        assertEquals(1, hangups.size());
        link.discardOutput();
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add); // a new host
        ByteBuffer fresh = ByteBuffer.allocateDirect(8192).put(encoder.encode(new Frame(9, MessageType.CORE_PING,
                Empty.INSTANCE)));
        assertEquals(fresh.position(), Os.libc().write(pipe[1], fresh.flip(), fresh.remaining()));
        loop.fire(port, Loop.READABLE);
        assertEquals(List.of(1L, 9L), dispatched, "the new host's first frame, read as its first");
    }

    /** The event loop logs what a handler throws and goes on with the next event. */
    private void fireAsTheLoopDoes(int fd, int events) {
        try {
            loop.fire(fd, events);
        } catch (RuntimeException logged) {
            // EventLoop.dispatch logs it
        }
    }



    /**
     * A host that wrote before the port was open (agentctl's pings while it waits) gets what the
     * connect queued, core.ready, before its own frames are read: before, the ready waited for them
     * to be decoded and answered, at the end of the turn.
     */
    @Test
    void whatTheConnectQueuedIsWrittenBeforeTheHostsFirstFramesAreRead() {
        int[] pair = SocketPairs.open();
        List<String> seenAtDispatch = new ArrayList<>();
        PortLink greeting = linkThatQueuesAReadyOnConnect(
                frame -> seenAtDispatch.add(frame.id() + ": " + framesWaitingAt(pair[1])));
        try {
            hostWrites(pair[1], pings(2));
            greeting.attach(pair[0], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
            loop.fire(pair[0], Loop.READABLE | Loop.WRITABLE);
            assertEquals(List.of("1: [core.ready]", "2: []"), seenAtDispatch,
                    "the ready was on the host's side before its first ping was dispatched");
            assertFalse(loop.registration(pair[0]).writing(), "all of it written");
        } finally {
            Os.close(pair[0]);
            Os.close(pair[1]);
        }
    }

    /**
     * A socket's host that wrote and closed before the first event, on a transport whose close epoll
     * reports as readable and writable without a hang-up (vsock): its frames are read and dispatched
     * although the connect queued a ready. Written first, that ready would fail with EPIPE and end
     * the link before they were read.
     */
    @Test
    void aSocketHostThatWroteAndClosedIsReadBeforeTheConnectsFramesAreWritten() {
        int[] pair = SocketPairs.open();
        PortLink socket = linkThatQueuesAReadyOnConnect(frame -> events.add("frame " + frame.type().wire()));
        try {
            hostWroteAPingAndAShutdownAndClosed(pair);
            socket.attach(pair[0], PortLink.Splicing.SPLICE_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            loop.fire(pair[0], Loop.READABLE | Loop.WRITABLE);
            assertEquals(List.of("frame core.ping", "frame core.shutdown"), events);
        } finally {
            Os.close(pair[0]);
            if (pair[1] >= 0) {
                Os.close(pair[1]);
            }
        }
    }

    /** A link whose connect queues a core.ready, as a Connection's does; the host's frames go to {@code onFrame}. */
    private PortLink linkThatQueuesAReadyOnConnect(Consumer<Frame> onFrame) {
        PortLink greeting = new PortLink(loop, HIGH_WATER, 0);
        greeting.setListener(new RecordingListener() {
            @Override
            public void onConnected() {
                greeting.send(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "test")));
            }

            @Override
            public void onFrame(Frame frame) {
                onFrame.accept(frame);
            }
        });
        return greeting;
    }

    /**
     * The host's side, {@code ends[1]}, writes a core.ping (id 3) and a core.shutdown (id 4) and
     * closes; {@code ends[1]} becomes -1 so that the test's cleanup leaves it alone.
     */
    private static void hostWroteAPingAndAShutdownAndClosed(int[] ends) {
        hostWrites(ends[1], new Frame(3, MessageType.CORE_PING, Empty.INSTANCE),
                new Frame(4, MessageType.CORE_SHUTDOWN, null));
        Os.close(ends[1]);
        ends[1] = -1;
    }

    /** The host's side writes {@code frames}, encoded, in one write. */
    static void hostWrites(int fd, Frame... frames) {
        FrameEncoder encoder = new FrameEncoder();
        ByteBuffer bytes = ByteBuffer.allocateDirect(4096);
        for (Frame frame : frames) {
            bytes.put(encoder.encode(frame));
        }
        assertEquals(bytes.position(), Os.libc().write(fd, bytes.flip(), bytes.remaining()));
    }

    /** core.ping frames with ids 1 to {@code count}. */
    static Frame[] pings(int count) {
        Frame[] pings = new Frame[count];
        for (int i = 0; i < count; i++) {
            pings[i] = new Frame(i + 1, MessageType.CORE_PING, Empty.INSTANCE);
        }
        return pings;
    }

    /** The types of the frames readable at {@code fd} now (read, so each is seen once). */
    private static List<String> framesWaitingAt(int fd) {
        ByteBuffer in = ByteBuffer.allocateDirect(4096);
        int n = (int) Os.libc().read(fd, in, in.capacity());
        List<String> types = new ArrayList<>();
        if (n <= 0) {
            return types;
        }
        in.limit(n);
        FrameDecoder decoder = new FrameDecoder();
        try {
            decoder.feed(in);
            for (Frame f; (f = decoder.next()) != null; ) {
                types.add(f.type().wire());
            }
        } catch (ProtocolException e) {
            types.add("undecodable: " + e.getMessage());
        }
        return types;
    }

    /**
     * A host whose frames wait for the next turn, whose socket is full of output, and which then
     * closes: epoll reports the hang-up with the fd writable. Its frames are dispatched first, in
     * order, and then the hang-up; before, the write went on, failed with EPIPE and dropped them.
     */
    @Test
    void aHangUpWhileFramesWaitForTheNextTurnWaitsForThemAlsoWithOutputQueued() {
        int[] pair = SocketPairs.open();
        List<Long> dispatched = new ArrayList<>();
        PortLink slow = linkGivingEachFrameASlice(dispatched, false);
        int port = pair[0];
        try {
            slow.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            loop.fire(port, Loop.WRITABLE); // connected
            while (!loop.registration(port).writing()) { // the host reads nothing: its socket fills
                slow.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[64 * 1024]));
                loop.advance(0);
            }
            hostWrites(pair[1], pings(5));
            loop.fire(port, Loop.READABLE);
            assertEquals(List.of(1L), dispatched, "the slice ran out after one");

            Os.close(pair[1]);
            pair[1] = -1;
            loop.fire(port, Loop.HANGUP | Loop.WRITABLE | Loop.READABLE);
            for (int turn = 0; turn < 10 && hangups.isEmpty(); turn++) {
                loop.turn();
                if (!loop.registration(port).cancelled()) {
                    loop.fire(port, Loop.HANGUP | Loop.WRITABLE | Loop.READABLE); // level-triggered: again
                }
            }
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L), dispatched, "every frame it sent, in order");
            assertEquals(List.of(true), hangups);
        } finally {
            Os.close(pair[0]);
            if (pair[1] >= 0) {
                Os.close(pair[1]);
            }
        }
    }

    /**
     * A host that sends more than one slice of frames, each answered, and closes at once (no
     * shutdown of its writing side first): the answers' end-of-turn write fails (EPIPE) before the
     * next slice. Every frame it sent is still dispatched, in order, their answers dropped, then the
     * hang-up. Before, the failed write hung up at once and frames 2 to 5 were never handled (a
     * detachable session never started, a core.shutdown never done), with no line saying so.
     */
    @Test
    void aHostThatClosesWhileItsFramesWaitForTheNextTurnHasThemAllHandled() {
        int[] pair = SocketPairs.open();
        List<Long> dispatched = new ArrayList<>();
        PortLink slow = linkGivingEachFrameASlice(dispatched, true);
        int port = pair[0];
        try {
            slow.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            loop.fire(port, Loop.WRITABLE); // connected
            hostWrites(pair[1], pings(5));
            Os.close(pair[1]);
            pair[1] = -1;
            loop.fire(port, Loop.READABLE);
            assertEquals(List.of(1L), dispatched, "the slice ran out after one");
            for (int turn = 0; turn < 10 && hangups.isEmpty(); turn++) {
                loop.turn();
                if (!loop.registration(port).cancelled() && loop.registration(port).reading()) {
                    loop.fire(port, Loop.HANGUP | Loop.WRITABLE | Loop.READABLE); // level-triggered: again
                }
            }
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L), dispatched, "every frame it sent, in order");
            assertEquals(List.of(true), hangups);
            assertEquals(0, slow.queuedBytes(), "their answers went with the host");
        } finally {
            Os.close(pair[0]);
            if (pair[1] >= 0) {
                Os.close(pair[1]);
            }
        }
    }

    /**
     * A link whose clock passes the dispatch slice at every frame it dispatches (so each frame waits
     * for a turn of its own), recording their ids in {@code dispatched}, and answering each with a
     * pong when {@code answered}.
     */
    private PortLink linkGivingEachFrameASlice(List<Long> dispatched, boolean answered) {
        long[] nanos = {0};
        PortLink[] link = new PortLink[1];
        link[0] = new PortLink(loop, 1 << 30, 0, new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES), () -> nanos[0]);
        link[0].setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                dispatched.add(frame.id());
                if (answered) {
                    link[0].send(new Frame(frame.id(), MessageType.CORE_PONG, Empty.INSTANCE));
                }
                nanos[0] += LinkReader.DISPATCH_SLICE_NANOS + 1;
            }
        });
        return link[0];
    }

    /** shutdown(2), which the agent itself never calls. */
    public interface Shutdown {
        int SHUT_RD = 0;

        int shutdown(int fd, int how);
    }

    /**
     * A host that shuts only its reading side after sending more than one slice of frames, and then
     * sends on: its frames are handled, their answers dropped (the write fails EPIPE), and the link
     * hangs up once those are handled instead of dropping every later answer for as long as the host
     * keeps the connection (and its place) open.
     */
    @Test
    void aHostThatStopsReadingForGoodIsHungUpOnceItsFramesAreHandled() {
        int[] pair = SocketPairs.open();
        List<Long> dispatched = new ArrayList<>();
        PortLink slow = linkGivingEachFrameASlice(dispatched, true);
        Shutdown libc = jnr.ffi.LibraryLoader.create(Shutdown.class).load("c");
        int port = pair[0];
        try {
            slow.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            loop.fire(port, Loop.WRITABLE);
            hostWrites(pair[1], pings(3));
            assertEquals(0, libc.shutdown(pair[1], Shutdown.SHUT_RD));
            loop.fire(port, Loop.READABLE);
            for (int turn = 0; turn < 10 && hangups.isEmpty(); turn++) {
                loop.turn();
            }
            assertEquals(List.of(1L, 2L, 3L), dispatched, "every frame it sent, in order");
            assertEquals(List.of(true), hangups, "hung up, though its writing side is open");
        } finally {
            Os.close(pair[0]);
            Os.close(pair[1]);
        }
    }

    /**
     * A connection whose handling of a refused frame throws (a bug): the link goes on with the next
     * frame, in step. Before, the exception left the read buffer mid-frame (as one from a frame's
     * handler did before its own guard) and every later frame was misread.
     */
    @Test
    void aRefusalWhoseHandlingThrowsLeavesTheLinkInStep() {
        int[] pair = SocketPairs.open();
        List<String> seen = new ArrayList<>();
        PortLink guarded = new PortLink(loop, HIGH_WATER, 0);
        guarded.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                seen.add("frame " + frame.id());
            }

            @Override
            public void onProtocolError(ProtocolException e) {
                seen.add("refused");
                throw new IllegalStateException("a bug in the refusal's handling");
            }
        });
        byte[] bad = new FrameEncoder().encode(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
        for (int i = 4; i < bad.length; i++) {
            if ((bad[i] & 0xff) == 0xa3) { // the body's map head: now the body is no map
                bad[i] = 0x01;
                break;
            }
        }
        try {
            guarded.attach(pair[0], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            loop.fire(pair[0], Loop.WRITABLE);
            ByteBuffer bytes = ByteBuffer.allocateDirect(4096).put(bad);
            bytes.put(new FrameEncoder().encode(new Frame(2, MessageType.CORE_PING, Empty.INSTANCE)));
            assertEquals(bytes.position(), Os.libc().write(pair[1], bytes.flip(), bytes.remaining()));
            loop.fire(pair[0], Loop.READABLE);
            assertEquals(List.of("refused", "frame 2"), seen);
        } finally {
            Os.close(pair[0]);
            Os.close(pair[1]);
        }
    }

    /**
     * A socket host that began a large frame (its share of the shared budget reserved) and then reads
     * none of its answers, so that its input is paused: its frame deadline runs, and at the timeout it
     * is dropped and the share given back. Before, the pause stopped the deadline's clock for good and
     * eight such hosts held the whole budget, every other host's large frame waiting for ever.
     */
    @Test
    void aHostHoldingALargeFrameShareThatReadsNoAnswersIsDroppedAtTheFrameTimeout() {
        int[] pair = SocketPairs.open();
        LargeFrameBudget budget = new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES);
        PortLink timed = new PortLink(loop, HIGH_WATER, 0, budget, 100, new StalledInputLog(loop));
        timed.setListener(new RecordingListener());
        int port = pair[0];
        try {
            timed.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
            loop.fire(port, Loop.WRITABLE); // connected
            ByteBuffer begun = ByteBuffer.allocateDirect(4 + 1024).putInt(1 << 20).put(new byte[1024]).flip();
            assertEquals(4 + 1024, Os.libc().write(pair[1], begun, begun.remaining()));
            loop.fire(port, Loop.READABLE);
            assertEquals(1 << 20, budget.reserved(), "the large frame's share");
            while (loop.registration(port).reading()) { // the host reads nothing: its input is paused
                timed.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[64 * 1024]));
                loop.advance(0);
            }
            for (int i = 0; i < 20 && budget.reserved() > 0; i++) {
                loop.advance(100);
            }
            assertEquals(0, budget.reserved(), "dropped at the timeout, its share given back");
        } finally {
            Os.close(pair[0]);
            Os.close(pair[1]);
        }
    }

    /**
     * A large frame's share of the shared budget goes back once the frames after it are dispatched,
     * also when the slice ran out right after it and the host then sends nothing more: an idle host
     * holds nothing shared (DESIGN decision 15).
     */
    @Test
    void aLargeFrameWhoseSliceRanOutGivesItsBudgetBackOnceTheRestIsDispatched() throws Exception {
        long[] nanos = {0};
        List<Long> dispatched = new ArrayList<>();
        LargeFrameBudget budget = new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES);
        PortLink slow = new PortLink(loop, 1 << 20, 0, budget, () -> nanos[0]);
        slow.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                dispatched.add(frame.id());
                if (frame.id() == 1) {
                    nanos[0] += LinkReader.DISPATCH_SLICE_NANOS + 1; // the large frame uses up the slice
                }
            }
        });
        int port = pipe[0];
        slow.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        FrameEncoder encoder = new FrameEncoder();
        byte[] large = encoder.encode(new Frame(1, MessageType.EXEC_STDIN,
                new ExecData(new byte[LargeFrameBudget.SMALL_FRAME_BYTES * 2])));
        ByteBuffer frames = ByteBuffer.allocateDirect(large.length + 1024).put(large);
        for (long id = 2; id <= 3; id++) {
            frames.put(encoder.encode(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE)));
        }
        frames.flip();
        while (frames.hasRemaining()) {
            assertTrue(Os.write(pipe[1], frames) > 0, "the link reads what the pipe holds");
            loop.fire(port, Loop.READABLE);
        }
        assertEquals(List.of(1L), dispatched, "the slice ran out after the large frame");

        loop.turn();
        assertEquals(List.of(1L, 2L, 3L), dispatched);
        assertTrue(loop.registration(port).reading());
        assertEquals(0, budget.reserved(), "the host is idle between frames: it holds none of the budget");
    }

    /**
     * Frames read in the same read as one whose answer paused the host's input wait with the bytes
     * not yet read: a host that does not read its answers cannot have a whole read's worth of
     * requests answered into the queue (one core.session.attach replays up to 1 MiB). Once the queue
     * is back under the mark they are dispatched, in order, and the port is read again.
     */
    @Test
    void framesReadBeforeTheInputPausedWaitUntilTheQueueIsBackUnderTheMark() throws Exception {
        List<Long> dispatched = new ArrayList<>();
        link.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                dispatched.add(frame.id());
                if (frame.id() == 1) { // an answer as large as the pause mark: the host reads nothing
                    queueOutput((int) (HIGH_WATER * QueueWaterMarks.INPUT_PAUSE_FACTOR));
                }
            }
        });
        int port = pipe[0];
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        loop.fire(port, Loop.READABLE); // connected
        hostWrites(pipe[1], pings(4));

        loop.fire(port, Loop.READABLE);
        assertEquals(List.of(1L), dispatched, "the frames after the pause wait");
        assertFalse(loop.registration(port).reading(), "input paused");
        loop.fire(port, Loop.READABLE);
        assertEquals(List.of(1L), dispatched, "nothing is dispatched while the input is paused");

        link.discardOutput(); // as if the host read it all
        assertEquals(List.of(1L), dispatched, "dispatched in a turn of their own, not from inside the drain");
        loop.turn();
        assertEquals(List.of(1L, 2L, 3L, 4L), dispatched);
        assertTrue(loop.registration(port).reading(), "all dispatched: the port is read again");
        assertEquals(List.of(), hangups);
    }

    @Test
    void aHostThatClosedItsEndIsHungUpOnRequestBeforeEpollSaysSoAndAnOpenOneIsNot() {
        int port = pipe[0];
        link.attach(port, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        loop.fire(port, Loop.READABLE); // connected
        assertFalse(link.hangUpIfGone(), "the host's end is open");
        assertEquals(List.of(), hangups);

        ByteBuffer ping = ByteBuffer.allocateDirect(64).put(new FrameEncoder().encode(
                new Frame(3, MessageType.CORE_PING, Empty.INSTANCE))).flip();
        assertEquals(ping.remaining(), Os.libc().write(pipe[1], ping, ping.remaining()));
        Os.close(pipe[1]);
        pipe[1] = -1;
        assertTrue(link.hangUpIfGone(), "closed: hung up at once, without an epoll event");
        assertEquals(List.of("connected", "frame core.ping"), events, "what the host sent before it went is taken first");
        assertEquals(List.of(true), hangups);
        assertTrue(loop.registration(port).cancelled());
        assertFalse(link.hangUpIfGone(), "detached: nothing to hang up");
    }

    /**
     * The host was killed with frames still on their way, slower to dispatch than a slice: asked
     * whether it is gone (an attach to its session), the link takes all it left and hangs up then,
     * rather than yielding the rest to a later turn and saying "still connected".
     */
    @Test
    void aGoneHostWhoseLastFramesOutlastTheSliceIsStillHungUpOnRequest() {
        List<Long> dispatched = new ArrayList<>();
        PortLink slow = connectedLinkWhoseFramesEachUseUpASlice(dispatched);
        int port = pipe[0];
        writePings(4);
        Os.close(pipe[1]);
        pipe[1] = -1;

        assertTrue(slow.hangUpIfGone(), "gone: hung up once what it sent is dispatched, whatever the slice");
        assertEquals(List.of(1L, 2L, 3L, 4L), dispatched, "every frame it sent, in order, before the hang-up");
        assertEquals(List.of(true), hangups);
        assertTrue(loop.registration(port).cancelled());
        loop.turn();
        assertEquals(List.of(1L, 2L, 3L, 4L), dispatched, "nothing left for a later turn");
    }

    @Test
    void aGoneHostWhoseFramesAlreadyWaitForTheNextTurnIsHungUpOnRequest() {
        List<Long> dispatched = new ArrayList<>();
        PortLink slow = connectedLinkWhoseFramesEachUseUpASlice(dispatched);
        int port = pipe[0];
        writePings(3);
        loop.fire(port, Loop.READABLE);
        assertEquals(List.of(1L), dispatched, "the slice ran out: the rest waits for the next turn");
        Os.close(pipe[1]);
        pipe[1] = -1;

        assertTrue(slow.hangUpIfGone(), "gone: what waited is dispatched now, then the hang-up");
        assertEquals(List.of(1L, 2L, 3L), dispatched);
        assertEquals(List.of(true), hangups);
        loop.turn();
        assertEquals(List.of(1L, 2L, 3L), dispatched, "the cancelled turn dispatches nothing twice");
    }

    /** A link on the pipe, connected, whose every frame dispatched uses up a slice (a spawn, say) and is listed. */
    private PortLink connectedLinkWhoseFramesEachUseUpASlice(List<Long> dispatched) {
        long[] nanos = {0};
        PortLink slow = new PortLink(loop, 1 << 20, 0, new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES),
                () -> nanos[0]);
        slow.setListener(new RecordingListener() {
            @Override
            public void onFrame(Frame frame) {
                dispatched.add(frame.id());
                nanos[0] += LinkReader.DISPATCH_SLICE_NANOS + 1;
            }
        });
        slow.attach(pipe[0], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, hangups::add);
        loop.fire(pipe[0], Loop.READABLE); // connected
        return slow;
    }

    /** core.ping on ids 1 to {@code count}, written into the pipe in one write. */
    private void writePings(int count) {
        FrameEncoder encoder = new FrameEncoder();
        ByteBuffer frames = ByteBuffer.allocateDirect(1024);
        for (long id = 1; id <= count; id++) {
            frames.put(encoder.encode(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE)));
        }
        frames.flip();
        assertEquals(frames.remaining(), Os.libc().write(pipe[1], frames, frames.remaining()));
    }

    /** A listener that ignores everything: a test overrides what it watches. */
    static class RecordingListener implements PortLink.Listener {
        @Override
        public void onConnected() {}

        @Override
        public void onFrame(Frame frame) {}

        @Override
        public void onProtocolError(ProtocolException e) {}

        @Override
        public void onOutputResumed() {}

        @Override
        public void onFlushed() {}
    }
}
