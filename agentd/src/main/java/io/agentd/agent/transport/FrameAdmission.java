package io.agentd.agent.transport;

import io.agentd.protocol.Protocol;
import java.nio.ByteBuffer;

/**
 * Which of a link's input bytes may go to its frame decoder now. It follows the frame boundaries
 * itself (a u32 big-endian length, then that many bytes; a length the decoder refuses is skipped by
 * the same count, as the decoder does) so that the decoder never sees the start of a large frame
 * before its length is reserved in the {@link LargeFrameBudget}: the decoder allocates a frame's
 * whole length when it sees its header. A large frame's reservation is kept after the frame is
 * decoded, since the decoder keeps its array for reuse; the link lets it go, with that decoder, at
 * the next frame boundary ({@link #atBoundary}, {@link #releaseRetained}). Loop thread only.
 */
final class FrameAdmission {
    private final LargeFrameBudget budget;
    /** Bytes of the current frame (or of a refused length being skipped) not yet admitted. */
    private long remaining;
    /** The reservation of the large frame being admitted; 0 for a small one. */
    private long current;
    /** Reservations of large frames already decoded: the decoder may still hold their arrays. */
    private long retained;
    /** The last call stopped before a large frame that did not fit in the budget. */
    private boolean waiting;
    /** Bytes of large frames admitted on this link so far, all frames together (never goes back). */
    private long largeFrameBytes;
    /** Large frames begun (reserved) on this link so far. */
    private long largeFramesBegun;

    FrameAdmission(LargeFrameBudget budget) {
        this.budget = budget;
    }

    /**
     * How many bytes from {@code in}'s position (to its limit) may be fed to the decoder now; the
     * count covers whole length prefixes only. It stops short before an incomplete length prefix
     * (the rest comes with the next read), and before a large frame the budget cannot take; then
     * {@link #waiting()} tells the link to wait, unless releasing {@link #retained()} first (at the
     * boundary it stopped at) may make room.
     */
    int admissible(ByteBuffer in) {
        waiting = false;
        int start = in.position();
        int pos = start;
        int limit = in.limit();
        while (pos < limit) {
            if (remaining > 0) {
                int n = (int) Math.min(remaining, limit - pos);
                pos += n;
                remaining -= n;
                if (current > 0) {
                    largeFrameBytes += n;
                }
                if (remaining == 0) {
                    retained += current;
                    current = 0;
                }
                continue;
            }
            if (limit - pos < Protocol.LENGTH_BYTES) {
                break;
            }
            long len = Integer.toUnsignedLong(in.getInt(pos));
            boolean decodable = len >= Protocol.MIN_FRAME_LEN && len <= Protocol.MAX_FRAME_LEN;
            if (decodable && len > LargeFrameBudget.SMALL_FRAME_BYTES) {
                if (!budget.tryReserve(len)) {
                    waiting = retained == 0;
                    break;
                }
                current = len;
                largeFramesBegun++;
            }
            pos += Protocol.LENGTH_BYTES;
            remaining = len;
        }
        return pos - start;
    }

    /** The last {@link #admissible} call stopped at a large frame the budget has no room for. */
    boolean waiting() {
        return waiting;
    }

    /** Between two frames: the decoder holds no byte of a frame. */
    boolean atBoundary() {
        return remaining == 0;
    }

    long retained() {
        return retained;
    }

    /** A large frame is being admitted, its length reserved in the budget, and not all of it has come. */
    boolean midLargeFrame() {
        return current > 0;
    }

    /** Bytes of large frames admitted so far on this link, over all of them: what a large frame's progress is measured by. */
    long largeFrameBytes() {
        return largeFrameBytes;
    }

    /** Large frames begun on this link so far: a new one's time starts with its first bytes. */
    long largeFramesBegun() {
        return largeFramesBegun;
    }

    /** The decoder that held the retained arrays is gone (replaced at a boundary): their bytes are free. */
    void releaseRetained() {
        long r = retained;
        retained = 0;
        budget.release(r);
    }

    /** The stream starts over (host gone, or dropped): every reservation is given back. */
    void reset() {
        long r = retained + current;
        remaining = 0;
        current = 0;
        retained = 0;
        waiting = false;
        budget.release(r);
    }
}
