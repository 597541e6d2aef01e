package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameSplitterTest {
    private final FrameEncoder encoder = new FrameEncoder();

    private final List<Long> ids = new ArrayList<>();
    private final List<byte[]> frames = new ArrayList<>();
    private final List<Long> badLengths = new ArrayList<>();
    private boolean continueAfterBadLength = true;

    private final FrameSplitter.Sink sink = new FrameSplitter.Sink() {
        @Override
        public boolean frame(long id, java.nio.ByteBuffer bytes) {
            ids.add(id);
            byte[] copy = new byte[bytes.remaining()]; // a view on the fed buffer: copied to keep
            bytes.get(copy);
            frames.add(copy);
            return true;
        }

        @Override
        public boolean badLength(long length) {
            badLengths.add(length);
            return continueAfterBadLength;
        }
    };

    /** A frame's start as a sink that takes frame rests sees it. */
    private interface FrameStart {
        boolean offer(long id, ByteBuffer head, long restOfFrame);
    }

    /** {@link #sink}, taking frame rests: each frame's start goes to {@code start} first. */
    private FrameSplitter.Sink takingRests(FrameStart start) {
        return new FrameSplitter.Sink() {
            @Override
            public boolean frame(long id, ByteBuffer bytes) {
                return sink.frame(id, bytes);
            }

            @Override
            public boolean badLength(long length) {
                return sink.badLength(length);
            }

            @Override
            public boolean takesFrameRests() {
                return true;
            }

            @Override
            public boolean frameStart(long id, ByteBuffer head, long restOfFrame) {
                return start.offer(id, head, restOfFrame);
            }
        };
    }

    @Test
    void framesSplitAtAnyByteComeOutWholeWithTheirIds() {
        byte[] a = encoder.encode(new Frame(7, MessageType.CORE_PING, Empty.INSTANCE));
        byte[] big = new byte[1 << 20];
        new Random(1).nextBytes(big);
        byte[] b = encoder.encode(new Frame(0xFFFF_FFFEL, MessageType.EXEC_STDIN, new ExecData(big)));
        byte[] c = encoder.encode(new Frame(9, MessageType.CORE_PING, Empty.INSTANCE));
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(a);
        all.writeBytes(b);
        all.writeBytes(c);
        byte[] stream = all.toByteArray();
        FrameSplitter splitter = new FrameSplitter();
        Random cuts = new Random(2);
        for (int at = 0; at < stream.length; ) {
            int n = Math.min(stream.length - at, 1 + cuts.nextInt(cuts.nextBoolean() ? 7 : 100_000));
            splitter.feed(ByteBuffer.wrap(stream, at, n), sink);
            at += n;
        }
        assertEquals(List.of(7L, 0xFFFF_FFFEL, 9L), ids);
        assertArrayEquals(a, frames.get(0));
        assertArrayEquals(b, frames.get(1));
        assertArrayEquals(c, frames.get(2));
        assertEquals(0, splitter.buffered());
    }

    @Test
    void aBadLengthIsReportedAndItsBytesSkippedWhenTheSinkGoesOn() {
        byte[] ping = encoder.encode(new Frame(5, MessageType.CORE_PING, Empty.INSTANCE));
        // length 3: below the 5-byte header; the 3 bytes it declares hold a fake frame start
        ByteBuffer stream = ByteBuffer.allocate(4 + 3 + ping.length).putInt(3).put(new byte[] {0, 0, 9}).put(ping).flip();
        new FrameSplitter().feed(stream, sink);
        assertEquals(List.of(3L), badLengths);
        assertEquals(List.of(5L), ids);
    }

    @Test
    void aSinkThatStopsAtABadLengthStopsTheFeed() {
        continueAfterBadLength = false;
        byte[] ping = encoder.encode(new Frame(5, MessageType.CORE_PING, Empty.INSTANCE));
        ByteBuffer stream = ByteBuffer.allocate(4 + ping.length).putInt(4 * 1024 * 1024 + 1).put(ping).flip();
        assertFalse(new FrameSplitter().feed(stream, sink));
        assertEquals(List.of(4L * 1024 * 1024 + 1), badLengths);
        assertEquals(List.of(), ids);
    }

    @Test
    void aSinkThatTakesAFramesRestGetsItsHeadAndTheSplitterResumesAfterTheRest() {
        byte[] big = new byte[300_000];
        new Random(3).nextBytes(big);
        byte[] b = encoder.encode(new Frame(11, MessageType.EXEC_STDOUT, new ExecData(big)));
        byte[] c = encoder.encode(new Frame(12, MessageType.CORE_PING, Empty.INSTANCE));
        for (int cut : new int[] {3, 8, 20, 100_000}) { // inside the header, at its end, past it
            ids.clear();
            frames.clear();
            ByteArrayOutputStream heads = new ByteArrayOutputStream();
            long[] rest = new long[1];
            FrameSplitter.Sink taker = takingRests((id, head, restOfFrame) -> {
                assertEquals(11, id);
                byte[] copy = new byte[head.remaining()];
                head.get(copy);
                heads.writeBytes(copy);
                rest[0] = restOfFrame;
                return true;
            });
            FrameSplitter splitter = new FrameSplitter();
            if (cut < 8) {
                splitter.feed(ByteBuffer.wrap(b, 0, cut), taker);
                splitter.feed(ByteBuffer.wrap(b, cut, 40), taker);
                assertEquals(cut + 40 + rest[0], b.length, "cut " + cut);
            } else {
                splitter.feed(ByteBuffer.wrap(b, 0, cut), taker);
                assertEquals(cut + rest[0], b.length, "cut " + cut);
            }
            assertArrayEquals(java.util.Arrays.copyOf(b, b.length - (int) rest[0]), heads.toByteArray(), "cut " + cut);
            assertEquals(0, splitter.buffered());
            splitter.feed(ByteBuffer.wrap(c), taker); // the sink took the rest from the stream itself
            assertEquals(List.of(12L), ids, "cut " + cut);
            assertArrayEquals(c, frames.get(0));
        }
    }

    /**
     * A frame whose start the sink declines (it assembles it instead: no owner, too little left of
     * it to splice) is offered once per read, not a second time as a copy of the header and all
     * that follows it in the read (up to 1 MiB, copied for nothing); one whose header came cut is
     * still offered once, as that copy.
     */
    @Test
    void aDeclinedFrameStartIsOfferedOncePerRead() {
        byte[] big = new byte[300_000];
        new Random(4).nextBytes(big);
        byte[] b = encoder.encode(new Frame(11, MessageType.EXEC_STDOUT, new ExecData(big)));
        List<Integer> offered = new ArrayList<>();
        FrameSplitter.Sink decliner = takingRests((id, head, restOfFrame) -> {
            offered.add(head.remaining());
            return false;
        });
        FrameSplitter splitter = new FrameSplitter();
        splitter.feed(ByteBuffer.wrap(b, 0, 100_000), decliner);
        assertEquals(List.of(100_000), offered, "offered whole in the read, once");
        splitter.feed(ByteBuffer.wrap(b, 100_000, b.length - 100_000), decliner);
        assertEquals(List.of(100_000), offered, "the rest of a frame being assembled is not offered");
        assertArrayEquals(b, frames.get(0), "assembled whole");

        offered.clear();
        frames.clear();
        FrameSplitter cutHeader = new FrameSplitter();
        cutHeader.feed(ByteBuffer.wrap(b, 0, 5), decliner);
        cutHeader.feed(ByteBuffer.wrap(b, 5, 99_995), decliner);
        assertEquals(List.of(100_000), offered, "a cut header's frame: offered once, as the copy");
        cutHeader.feed(ByteBuffer.wrap(b, 100_000, b.length - 100_000), decliner);
        assertArrayEquals(b, frames.get(0));
    }

    /**
     * The writer died inside a frame: after {@link FrameSplitter#resyncToReady} everything up to the
     * next core.ready on id 0 is discarded (a frame on id 0 of another type and a ready on another id
     * too), however the bytes are cut, and from the ready on the frames come out as before.
     */
    @Test
    void aResyncDiscardsEverythingBeforeTheNextCoreReadyCutAnywhere() {
        byte[] junk = new byte[300_000];
        new Random(3).nextBytes(junk);
        byte[] dead = encoder.encode(new Frame(5, MessageType.EXEC_STDOUT, new ExecData(junk)));
        byte[] ready = encoder.encode(new Frame(0, MessageType.CORE_READY,
                new io.agentd.protocol.payload.Ready(1, 2, 3, "next")));
        byte[] readyElsewhere = encoder.encode(new Frame(6, MessageType.CORE_READY,
                new io.agentd.protocol.payload.Ready(1, 2, 3, "not on id 0")));
        byte[] pingOn0 = encoder.encode(new Frame(0, MessageType.CORE_PING, Empty.INSTANCE));
        byte[] after = encoder.encode(new Frame(9, MessageType.CORE_PING, Empty.INSTANCE));
        for (int seed = 0; seed < 50; seed++) {
            ids.clear();
            frames.clear();
            ByteArrayOutputStream late = new ByteArrayOutputStream();
            late.write(dead, 100_000, 50_000); // the dead frame's bytes QEMU flushed late
            late.writeBytes(pingOn0);
            late.writeBytes(readyElsewhere);
            late.writeBytes(ready);
            late.writeBytes(after);
            byte[] stream = late.toByteArray();
            FrameSplitter splitter = new FrameSplitter();
            Random cuts = new Random(seed);
            splitter.feed(ByteBuffer.wrap(dead, 0, 1 + cuts.nextInt(100_000)), sink);
            splitter.resyncToReady();
            for (int at = 0; at < stream.length; ) {
                int n = Math.min(stream.length - at, 1 + cuts.nextInt(cuts.nextBoolean() ? 7 : 100_000));
                splitter.feed(ByteBuffer.wrap(stream, at, n), sink);
                at += n;
            }
            assertEquals(List.of(0L, 9L), ids, "seed " + seed);
            assertArrayEquals(ready, frames.get(0));
            assertArrayEquals(after, frames.get(1));
            assertFalse(splitter.resyncing());
        }
    }
}
