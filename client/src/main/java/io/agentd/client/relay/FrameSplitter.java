package io.agentd.client.relay;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Cuts a byte stream into whole frames by their headers alone: the length prefix says where a frame
 * ends, the id after it where it goes; the body is never decoded. Each frame comes out as a buffer
 * holding it whole, length prefix included, ready to forward as it is. A frame that lies whole in the
 * bytes fed comes out as a view on them, not copied (the relay's data path: most frames of a large
 * read are whole in it); only a frame cut by the end of a read is assembled in an array of its own.
 * Memory held: that frame, at most one of the largest legal length, grown as its bytes arrive. Not
 * thread-safe.
 *
 * <p>A length outside {@code 5 .. 4 MiB} is reported to the sink, which decides: stop (a client's
 * stream cannot be trusted any further), or go on, and then the declared length is skipped unread,
 * as the protocol's decoder does, so no byte inside it is taken for a frame.
 *
 * <p>{@link #resyncToReady}: the writer died in the middle of a frame (the relay learns it from QEMU,
 * not from the stream); the frame is dropped and every byte is discarded until the header of a
 * core.ready, the first frame of the writer that replaces it.
 */
final class FrameSplitter {
    /** Where the frames go. */
    interface Sink {
        /**
         * A whole frame on {@code id}: {@code bytes} from its position to its limit, prefix included.
         * It may be a view on the buffer being fed, valid only until that buffer is reused: a sink
         * that keeps the frame past that copies it (see {@link OutQueue#addBorrowed}).
         */
        boolean frame(long id, ByteBuffer bytes);

        /** A length prefix no frame may have; false to stop feeding (the stream is then unusable). */
        boolean badLength(long length);

        /**
         * The start of a frame on {@code id} that the bytes fed end inside: {@code head} holds its
         * first bytes (prefix and id at least; a view, as for {@link #frame}), {@code rest} more are
         * due. True when the sink takes the rest from the stream itself (the relay splices it): the
         * splitter then expects the next frame's prefix right after those {@code rest} bytes, which
         * it will not be fed. False: the splitter assembles the frame as usual.
         */
        default boolean frameStart(long id, ByteBuffer head, long rest) {
            return false;
        }

        /** False for a sink whose {@link #frameStart} always declines: a cut header is then not copied to offer it. */
        default boolean takesFrameRests() {
            return false;
        }
    }

    private static final int HEADER = Protocol.LENGTH_BYTES + 4;
    /** Frames up to this size get their whole array at once; a larger one grows as its bytes come. */
    static final int FIRST_CAPACITY = 256 * 1024;

    private final byte[] header = new byte[HEADER];
    private int headerFill;
    private byte[] frame;
    private int frameFill;
    private long skipLeft;
    /** Resyncing: the bytes kept that may begin a core.ready's header (judged when more come); null otherwise. */
    private byte[] resyncHeld;
    /** Bytes discarded by the latest resync. */
    private long discarded;
    /** Frames assembled (not passed whole as views) so far: see {@link #framesAssembled}. */
    private long framesAssembled;

    /** Takes the bytes between {@code src}'s position and limit; returns false if the sink stopped it. */
    boolean feed(ByteBuffer src, Sink sink) {
        if (resyncHeld != null) {
            ByteBuffer ready = resync(src);
            if (ready == null) {
                return true;
            }
            src = ready;
        }
        boolean declinedWhole = false; // the frame starting here was offered whole in src and declined
        while (src.hasRemaining()) {
            if (frame == null && headerFill == 0 && skipLeft == 0 && src.remaining() >= HEADER) {
                // Between frames: one that lies whole in src goes out as a view, not copied.
                int at = src.position();
                long len = Integer.toUnsignedLong(src.getInt(at));
                long total = len + Protocol.LENGTH_BYTES;
                long id = Integer.toUnsignedLong(src.getInt(at + Protocol.LENGTH_BYTES));
                if (len >= Protocol.MIN_FRAME_LEN && len <= Protocol.MAX_FRAME_LEN && total <= src.remaining()) {
                    ByteBuffer view = src.duplicate().limit(at + (int) total);
                    src.position(at + (int) total);
                    if (!sink.frame(id, view)) {
                        return false;
                    }
                    continue;
                }
                if (len >= Protocol.MIN_FRAME_LEN && len <= Protocol.MAX_FRAME_LEN) {
                    if (sink.frameStart(id, src.duplicate(), total - src.remaining())) {
                        src.position(src.limit());
                        return true;
                    }
                    declinedWhole = true;
                }
            }
            if (skipLeft > 0) {
                int n = (int) Math.min(skipLeft, src.remaining());
                src.position(src.position() + n);
                skipLeft -= n;
            } else if (frame == null) {
                header[headerFill++] = src.get();
                if (headerFill == Protocol.LENGTH_BYTES) {
                    long len = lengthOf(header);
                    if (len < Protocol.MIN_FRAME_LEN || len > Protocol.MAX_FRAME_LEN) {
                        headerFill = 0;
                        if (!sink.badLength(len)) {
                            return false;
                        }
                        skipLeft = len;
                    }
                } else if (headerFill == HEADER) {
                    int total = (int) lengthOf(header) + Protocol.LENGTH_BYTES;
                    long rest = total - HEADER - src.remaining();
                    if (rest > 0 && !declinedWhole && sink.takesFrameRests()) {
                        // The header came cut: the head offered is a copy of it and of what follows.
                        // (Not for a frame just declined above: the copy, up to a read's size, would
                        // only be declined again.)
                        ByteBuffer head = ByteBuffer.allocate(HEADER + src.remaining()).put(header).put(src.duplicate());
                        if (sink.frameStart(idOf(header), head.flip(), rest)) {
                            headerFill = 0;
                            src.position(src.limit());
                            return true;
                        }
                    }
                    declinedWhole = false;
                    frame = new byte[Math.min(total, Math.max(FIRST_CAPACITY, HEADER))];
                    framesAssembled++;
                    System.arraycopy(header, 0, frame, 0, HEADER);
                    frameFill = HEADER;
                    headerFill = 0;
                    if (frameFill == total && !complete(sink)) {
                        return false;
                    }
                }
            } else {
                int total = (int) lengthOf(frame) + Protocol.LENGTH_BYTES;
                if (frame.length < total && frame.length - frameFill < src.remaining()) {
                    grow(Math.min(total, frameFill + src.remaining()));
                }
                int n = Math.min(frame.length - frameFill, src.remaining());
                src.get(frame, frameFill, n);
                frameFill += n;
                if (frameFill == total && !complete(sink)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * The length (prefix included) of the frame being assembled when it is one that grows as its
     * bytes come, larger than {@link #FIRST_CAPACITY}: what it may come to hold; 0 otherwise.
     */
    long largeFrameHeld() {
        if (frame == null) {
            return 0;
        }
        long total = lengthOf(frame) + Protocol.LENGTH_BYTES;
        return total > FIRST_CAPACITY ? total : 0;
    }

    /**
     * How many frames were begun in an array of their own so far (the one being assembled
     * included): a new count with the same {@link #largeFrameHeld} is another frame of that length.
     */
    long framesAssembled() {
        return framesAssembled;
    }

    /** Bytes held of a frame not yet whole (0 between frames). */
    int buffered() {
        return frame == null ? headerFill : frameFill;
    }

    /** Bytes to read to know the next frame's length and id: 0 when a frame is being assembled or skipped, or when resyncing. */
    int headerMissing() {
        return frame == null && skipLeft == 0 && resyncHeld == null ? HEADER - headerFill : 0;
    }

    /** Inside a frame: part of one held (header or body), or a bad length's bytes being skipped. */
    boolean inFrame() {
        return frame != null || headerFill > 0 || skipLeft > 0;
    }

    /** The id of the frame being assembled, or -1 (between frames, or its header not yet whole). */
    long partialId() {
        return frame != null ? idOf(frame) : -1;
    }

    /**
     * The stream's writer is gone, maybe in the middle of a frame: what is held of one is dropped
     * (skipped bytes too), and from now on bytes are discarded until the header of a frame on id 0
     * whose envelope's type is core.ready, the next writer's first frame; from that header on the
     * stream is cut into frames as before. The held bytes after a partial frame's first are looked
     * through too, at the next {@link #feed} (an empty one will do): the next writer's ready may have
     * come before the news that this one was gone.
     */
    void resyncToReady() {
        byte[] held = frame != null ? Arrays.copyOfRange(frame, 1, frameFill)
                : headerFill > 1 ? Arrays.copyOfRange(header, 1, headerFill) : new byte[0];
        discarded = inFrame() ? 1 : 0;
        frame = null;
        frameFill = 0;
        headerFill = 0;
        skipLeft = 0;
        resyncHeld = held; // looked through at the next feed (an empty one will do)
    }

    /** Discarding bytes until a core.ready's header ({@link #resyncToReady}). */
    boolean resyncing() {
        return resyncHeld != null;
    }

    /** Bytes the latest resync discarded (so far, if it goes on). */
    long discarded() {
        return discarded;
    }

    /**
     * Consumes {@code src}: null while no core.ready header is found (the bytes that may begin one
     * are kept), otherwise the bytes from that header on (resyncing then ends).
     */
    private ByteBuffer resync(ByteBuffer src) {
        byte[] all = new byte[resyncHeld.length + src.remaining()];
        System.arraycopy(resyncHeld, 0, all, 0, resyncHeld.length);
        src.get(all, resyncHeld.length, src.remaining());
        ByteBuffer b = ByteBuffer.wrap(all);
        int at = 0;
        for (; at < all.length; at++) {
            int left = all.length - at;
            if (left < HEADER + 1) {
                break; // length, id and flags: judged when more come
            }
            long len = Integer.toUnsignedLong(b.getInt(at));
            long id = Integer.toUnsignedLong(b.getInt(at + Protocol.LENGTH_BYTES));
            if (id != Protocol.CONTROL_ID || len < Protocol.MIN_FRAME_LEN || len > Protocol.MAX_FRAME_LEN) {
                continue;
            }
            long need = Math.min(len + Protocol.LENGTH_BYTES, HEADER + 1 + EnvelopeType.HEAD_BYTES);
            if (left < need) {
                break; // the envelope's start is not all here yet
            }
            String type = EnvelopeType.of(ByteBuffer.wrap(all, at, (int) need));
            if (MessageType.CORE_READY.wire().equals(type)) {
                resyncHeld = null;
                discarded += at;
                return ByteBuffer.wrap(all, at, left);
            }
        }
        discarded += at;
        resyncHeld = Arrays.copyOfRange(all, at, all.length);
        return null;
    }

    private boolean complete(FrameSplitter.Sink sink) {
        byte[] whole = frame;
        frame = null;
        frameFill = 0;
        return sink.frame(idOf(whole), ByteBuffer.wrap(whole));
    }

    private void grow(int atLeast) {
        byte[] bigger = new byte[Math.min((int) lengthOf(frame) + Protocol.LENGTH_BYTES,
                Math.max(atLeast, frame.length * 2))];
        System.arraycopy(frame, 0, bigger, 0, frameFill);
        frame = bigger;
    }

    static long lengthOf(byte[] frame) {
        return Integer.toUnsignedLong(((frame[0] & 0xff) << 24) | ((frame[1] & 0xff) << 16)
                | ((frame[2] & 0xff) << 8) | (frame[3] & 0xff));
    }

    /** The id of a whole frame (its bytes 4..7). */
    static long idOf(byte[] frame) {
        return Integer.toUnsignedLong(((frame[4] & 0xff) << 24) | ((frame[5] & 0xff) << 16)
                | ((frame[6] & 0xff) << 8) | (frame[7] & 0xff));
    }
}
