package io.agentd.client.relay;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayDeque;

/**
 * Whole frames waiting for one non-blocking socket, written by gathering writes, with the count of
 * bytes waiting: the relay's water marks look at it. Frames are never split between queues, so what
 * a socket receives is always whole frames in the order they were queued. Selector thread only.
 */
final class OutQueue {
    /** Buffers handed to one gathering write. */
    private static final int GATHER = 64;

    private final ArrayDeque<ByteBuffer> frames = new ArrayDeque<>();
    private final ByteBuffer[] batch = new ByteBuffer[GATHER];
    private long bytes;

    void add(ByteBuffer frame) {
        bytes += frame.remaining();
        frames.add(frame);
    }

    long bytes() {
        return bytes;
    }

    boolean isEmpty() {
        return frames.isEmpty();
    }

    /** Writes as much as the socket takes now; true when everything went. */
    boolean flush(GatheringByteChannel channel) throws IOException {
        while (!frames.isEmpty()) {
            int n = 0;
            for (ByteBuffer b : frames) {
                batch[n++] = b;
                if (n == GATHER) {
                    break;
                }
            }
            long written = channel.write(batch, 0, n);
            java.util.Arrays.fill(batch, 0, n, null);
            bytes -= written;
            while (!frames.isEmpty() && !frames.peek().hasRemaining()) {
                frames.poll();
            }
            if (written == 0) {
                return false;
            }
        }
        return true;
    }

    void clear() {
        frames.clear();
        bytes = 0;
    }
}
