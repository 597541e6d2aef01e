package io.agentd.protocol;

import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Payload;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Incremental decoder: feed bytes as they arrive (any split, many frames per chunk), then call
 * {@link #next()} until it returns null.
 *
 * <p>A refused frame is consumed whole and reported as a {@link ProtocolException}; the next call
 * goes on with the following frame. A length prefix above the frame limit or below
 * {@link Protocol#MIN_FRAME_LEN} is refused as soon as the 4 prefix bytes are in
 * ({@link ErrorKind#losesStream()}); the declared length is then skipped, counting down across later
 * feeds without buffering any of it, and decoding resumes right after it. So no byte inside a
 * refused frame is ever parsed as a frame of its own, and if the length was honest (a peer with a
 * larger limit) the stream stays in step. If it was not, there is no telling where frames start
 * again: a transport that can start afresh (a socket) should drop the connection instead.
 * Memory held never exceeds one frame of the maximum length. Not thread-safe.
 *
 * <p>Frames are decoded as soon as their last byte is fed, so a chunk holding many frames is never
 * buffered whole: only the incomplete frame at its end is kept. The results wait, in order, for
 * {@link #next()}. A frame that arrives whole in a heap buffer is decoded in place, without a copy;
 * a large data frame that arrives in pieces is read straight into the array its data will be.
 */
public final class FrameDecoder {
    /** First size of the frame buffer; it grows, up to the frame's length, only for larger frames. */
    private static final int INITIAL_CAPACITY = 4096;

    private final int maxFrameLen;
    /**
     * The agent's decoder of what a host sends: a type only the agent sends is refused as
     * unsupported_message_type before its flags or payload are looked at (PROTOCOL.md: the agent
     * does not take it, whatever its shape). A client's decoder takes every type.
     */
    private final boolean hostSendsOnly;
    /** Decoded results in arrival order: a {@link Frame}, or the {@link ProtocolException} refusing one. */
    private final ArrayDeque<Object> results = new ArrayDeque<>();
    /** The last length refusal queued: a refused length right after it, still queued, adds none. */
    private ProtocolException lastBadLength;
    /** The length prefix assembled so far, and how many of its bytes are in. */
    private int prefix;
    private int prefixFill;
    /** Bytes of a refused frame still to be skipped unread; decoding resumes when it reaches 0. */
    private long skipLeft;
    /** The accepted length of the frame being read, or -1 while the prefix is being read. */
    private int frameLen = -1;
    /** id + flags + body of the frame being read, when it did not arrive whole. */
    private byte[] frame = new byte[0];
    private int frameFill;
    /**
     * The data of a large data frame being read: once its header is in {@link #frame}, the rest of
     * it goes straight here, the array the frame will carry, instead of through {@link #frame}.
     */
    private byte[] data;
    private int dataFill;
    /** The type of that data frame. */
    private MessageType dataType;
    /** The data array of the last streamed data frame, while it may still be handed back. */
    private byte[] lastStreamed;
    /** A data array handed back by {@link #recycle}: the next streamed frame of its length reuses it. */
    private byte[] spare;

    public FrameDecoder() {
        this(Protocol.MAX_FRAME_LEN);
    }

    /** A decoder with a smaller frame limit (tests, constrained peers). */
    public FrameDecoder(int maxFrameLen) {
        this(maxFrameLen, false);
    }

    /** The agent's decoder: of frames a host sends (see {@link #hostSendsOnly}). */
    public static FrameDecoder forAgent() {
        return new FrameDecoder(Protocol.MAX_FRAME_LEN, true);
    }

    private FrameDecoder(int maxFrameLen, boolean hostSendsOnly) {
        this.hostSendsOnly = hostSendsOnly;
        if (maxFrameLen < Protocol.MIN_FRAME_LEN || maxFrameLen > Protocol.MAX_FRAME_LEN) {
            throw new IllegalArgumentException("frame limit must be within " + Protocol.MIN_FRAME_LEN + ".."
                    + Protocol.MAX_FRAME_LEN + ": " + maxFrameLen);
        }
        this.maxFrameLen = maxFrameLen;
    }

    /** Takes the bytes from {@code src}'s position to its limit (the buffer's position advances). */
    public void feed(ByteBuffer src) {
        while (src.hasRemaining()) {
            if (skipLeft > 0) {
                int n = (int) Math.min(src.remaining(), skipLeft);
                src.position(src.position() + n);
                skipLeft -= n;
            } else if (frameLen < 0) {
                prefix = (prefix << 8) | (src.get() & 0xff);
                if (++prefixFill == Protocol.LENGTH_BYTES) {
                    long len = Integer.toUnsignedLong(prefix);
                    prefix = 0;
                    prefixFill = 0;
                    if (len > maxFrameLen || len < Protocol.MIN_FRAME_LEN) {
                        // A run of refused lengths with nothing decoded between them is one refusal:
                        // the stream is lost at the first, and zeros (or any garbage below 5) made one
                        // for every 4 bytes, a million queued exceptions for one 4 MiB read.
                        if (results.peekLast() != lastBadLength || lastBadLength == null) {
                            lastBadLength = badLength(len, maxFrameLen);
                            results.add(lastBadLength);
                        }
                        // The declared length is the only clue to where the next frame starts; what
                        // it covers is skipped unread, so a frame hidden inside is never decoded.
                        skipLeft = len;
                        continue;
                    }
                    frameLen = (int) len;
                }
            } else if (frameFill == 0 && src.hasArray() && src.remaining() >= frameLen) {
                int at = src.position();
                src.position(at + frameLen);
                complete(src.array(), src.arrayOffset() + at);
            } else if (data != null) {
                int n = Math.min(src.remaining(), data.length - dataFill);
                src.get(data, dataFill, n);
                dataFill += n;
                if (dataFill == data.length) {
                    completeData();
                }
            } else {
                int n = Math.min(src.remaining(), (frameFill < headerProbe() ? headerProbe() : frameLen) - frameFill);
                ensureCapacity(frameFill + n);
                src.get(frame, frameFill, n);
                frameFill += n;
                if (frameFill == frameLen) {
                    complete(frame, 0);
                } else if (frameFill == headerProbe()) {
                    startDataIfBulk();
                }
            }
        }
    }

    public void feed(byte[] src, int off, int len) {
        feed(ByteBuffer.wrap(src, off, len));
    }

    /** The next complete frame, or null when more bytes are needed. */
    public Frame next() throws ProtocolException {
        Object result = results.poll();
        if (result instanceof ProtocolException refused) {
            throw refused;
        }
        return (Frame) result;
    }

    /** True inside a frame: part of its length prefix, or its length and not yet all of its bytes. */
    public boolean midFrame() {
        return frameLen >= 0 || prefixFill > 0;
    }

    /** Bytes held that do not yet form a whole frame (never those of a refused frame being skipped). */
    public int buffered() {
        return frameLen < 0 ? prefixFill : frameFill + dataFill;
    }

    /**
     * What an end of input now would cut short, for the reader's log or error: null at a frame
     * boundary (or inside a refused frame, already reported), else e.g. "a frame cut short (36 of its
     * 112 bytes after the length came)".
     */
    public String unfinishedFrame() {
        if (frameLen >= 0) {
            return "a frame cut short (" + buffered() + " of its " + frameLen + " bytes after the length came)";
        }
        if (prefixFill > 0) {
            return "a frame cut short in its length (" + prefixFill + " of " + Protocol.LENGTH_BYTES + " bytes)";
        }
        return null;
    }

    /** Drops every byte held (e.g. after the host disconnects). */
    public void reset() {
        results.clear();
        skipLeft = 0;
        prefix = 0;
        prefixFill = 0;
        frameLen = -1;
        frame = new byte[0];
        frameFill = 0;
        data = null;
        dataFill = 0;
        dataType = null;
    }

    /**
     * Hands back the data array of a data frame this decoder returned, once its consumer is done
     * with it and kept no reference: the next large data frame of the same length is read into it
     * instead of a new array (a stream of equal chunks then allocates nothing). Any other frame, or
     * an array this decoder did not stream, is ignored.
     */
    public void recycle(Frame frame) {
        if (lastStreamed != null && frame.payload() instanceof ExecData d && d.data() == lastStreamed) {
            spare = lastStreamed;
            lastStreamed = null;
        }
    }

    /** The frame limit this decoder enforces. */
    public int maxFrameLen() {
        return maxFrameLen;
    }

    /** Size of the frame buffer (tests check it never passes the frame limit). */
    int bufferCapacity() {
        return frame.length;
    }

    /** Decodes one frame without its length prefix: {@code a[off, off+len)} holds id, flags and body. */
    static Frame decodeFrame(byte[] a, int off, int len) throws ProtocolException {
        return decodeFrame(a, off, len, false);
    }

    /** As {@link #decodeFrame(byte[], int, int)}; {@code hostSendsOnly}: see {@link #hostSendsOnly}. */
    static Frame decodeFrame(byte[] a, int off, int len, boolean hostSendsOnly) throws ProtocolException {
        long id = readId(a, off);
        int flags = a[off + 4] & 0xff;
        Frame canonical = DataFrameLayout.decodeCanonical(a, off, len, id, flags);
        if (canonical != null) {
            checkSender(canonical.type(), id, hostSendsOnly);
            return canonical;
        }
        Envelope body = Envelope.read(a, off + 5, len - 5, id);
        MessageType type = MessageType.fromWire(body.t()).orElseThrow(() -> new ProtocolException(
                ErrorKind.UNSUPPORTED_MESSAGE_TYPE, id, Envelope.offendingType(body.t()), "unknown message type "
                        + HostText.quote(body.t(), HostText.QUOTE_MAX)));
        checkSender(type, id, hostSendsOnly); // first: the flags and payload of such a type do not matter
        if (body.v() < type.introducedIn()) {
            throw new ProtocolException(ErrorKind.UNSUPPORTED_PROTOCOL_GENERATION, id, type.wire(),
                    type + " needs generation " + type.introducedIn() + " or newer; the frame has v=" + body.v());
        }
        if (flags != type.flags()) {
            throw new ProtocolException(ErrorKind.INVALID_FLAGS, id, type.wire(),
                    type + " must carry flags " + type.flags() + ", not " + flags);
        }
        Payload payload = PayloadDecoding.decode(type, id, body.p());
        return new Frame(id, type, payload);
    }

    /** A type only the agent sends, read by the agent's decoder: refused as the agent refuses it. */
    private static void checkSender(MessageType type, long id, boolean hostSendsOnly) throws ProtocolException {
        if (hostSendsOnly && !type.sentByHost()) {
            throw new ProtocolException(ErrorKind.UNSUPPORTED_MESSAGE_TYPE, id, type.wire(),
                    type.wire() + " is sent by the agent, not to it");
        }
    }

    private void complete(byte[] a, int off) {
        int len = frameLen;
        frameLen = -1;
        frameFill = 0;
        try {
            results.add(decodeFrame(a, off, len, hostSendsOnly));
        } catch (ProtocolException e) {
            results.add(e);
        }
    }

    /** Frames from this size on are read the data-frame way when their header says so. */
    private static final int STREAMED_FRAME_MIN = 4096;

    /** How much of the frame to buffer before looking at its header: all of a small frame. */
    private int headerProbe() {
        return frameLen >= STREAMED_FRAME_MIN ? DataFrameLayout.MAX_HEADER : frameLen;
    }

    /** The header of a large frame is in: a data frame's data goes straight into its own array. */
    private void startDataIfBulk() {
        MessageType type = DataFrameLayout.dataType(frame, 0, frameLen);
        int start = type == null ? -1 : DataFrameLayout.dataStart(frame, 0, frameLen, frame[4] & 0xff, type);
        if (start < 0) {
            return;
        }
        dataType = type;
        int len = frameLen - start;
        data = spare != null && spare.length == len ? spare : new byte[len];
        spare = null;
        dataFill = frameFill - start;
        System.arraycopy(frame, start, data, 0, dataFill);
        frameFill = start;
    }

    private void completeData() {
        long id = readId(frame, 0);
        try {
            checkSender(dataType, id, hostSendsOnly);
            results.add(new Frame(id, dataType, new ExecData(data)));
            lastStreamed = data;
        } catch (ProtocolException e) {
            results.add(e);
        }
        frameLen = -1;
        frameFill = 0;
        data = null;
        dataFill = 0;
        dataType = null;
    }

    /** The u32 frame id at the start of a frame without its length prefix. */
    private static long readId(byte[] a, int off) {
        return ((a[off] & 0xffL) << 24) | ((a[off + 1] & 0xff) << 16) | ((a[off + 2] & 0xff) << 8) | (a[off + 3] & 0xff);
    }

    private void ensureCapacity(int needed) {
        if (frame.length < needed) {
            int grown = Math.max(needed, Math.max(INITIAL_CAPACITY, frame.length * 2));
            frame = Arrays.copyOf(frame, Math.min(grown, frameLen));
        }
    }

    private static ProtocolException badLength(long len, int limit) {
        boolean tooLarge = len >= Protocol.MIN_FRAME_LEN;
        return new ProtocolException(tooLarge ? ErrorKind.FRAME_TOO_LARGE : ErrorKind.FRAME_TOO_SHORT,
                ProtocolException.NO_ID, null, "frame length " + len + (tooLarge
                        ? " is above the limit " + limit : " is below the " + Protocol.MIN_FRAME_LEN + "-byte header"));
    }
}
