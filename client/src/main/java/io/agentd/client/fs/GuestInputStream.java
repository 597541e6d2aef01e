package io.agentd.client.fs;

import io.agentd.protocol.payload.FsOp;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * A guest file read as a stream ({@link GuestFiles#openRead}): Reads of {@link #SEGMENT_BYTES}
 * each at consecutive offsets, {@link #IN_FLIGHT} at a time, so the next one is on its way while
 * this one is read. Each Read's {@code len} bounds what the client holds (at most
 * {@code IN_FLIGHT * SEGMENT_BYTES}), so the connection's reader thread never waits for the
 * consumer: a slow consumer slows only this file. A Read that ends short marks the end of the file.
 * Each Read's SHA-256 is checked when the agent sends one. Not thread-safe.
 */
final class GuestInputStream extends InputStream {
    static final int SEGMENT_BYTES = 4 * 1024 * 1024;
    static final int IN_FLIGHT = 2;

    private final FsRequests requests;
    private final String path;
    private final long handle;
    private final ArrayDeque<ReadSegment> segments = new ArrayDeque<>();
    private long nextOffset;
    private boolean ended;
    private boolean closed;

    GuestInputStream(FsRequests requests, String path, long handle) {
        this.requests = requests;
        this.path = path;
        this.handle = handle;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException(path + ": stream closed");
        }
        if (len == 0) {
            return 0;
        }
        while (true) {
            requestMore();
            ReadSegment head = segments.peekFirst();
            if (head == null) {
                return -1;
            }
            int n = head.take(b, off, len, requests.timeout(), path);
            if (n >= 0) {
                return n;
            }
            segments.removeFirst();
            if (head.received() < head.len) {
                ended = true; // the file ends here: later Reads have nothing we want
                segments.forEach(ReadSegment::retire);
                segments.clear();
            }
        }
    }

    private void requestMore() throws IOException {
        while (!ended && segments.size() < IN_FLIGHT) {
            ReadSegment s = new ReadSegment(nextOffset, SEGMENT_BYTES);
            s.sent(requests.start(new FsOp.Read(handle, nextOffset, (long) SEGMENT_BYTES), s));
            segments.addLast(s);
            nextOffset += SEGMENT_BYTES;
        }
    }

    /** Closes the guest's handle; the ids of Reads still on their way are freed, and what comes on them dropped. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        segments.forEach(ReadSegment::retire);
        segments.clear();
        // Often closed by a try-with-resources after an interrupted read: with the flag still set the
        // wait for the close's answer would throw at once, and the handle would stay open in the
        // agent until the connection ends. The wait is bounded by the timeout; the flag is put back.
        boolean interrupted = Thread.interrupted();
        try {
            requests.closeHandle(handle, path);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
