package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.Timeouts;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HexFormat;

/**
 * One Read of at most {@code len} bytes: the reader thread queues its chunks (never waiting: the
 * Read's {@code len} bounds them), the consumer takes them in order and, at the end, checks the
 * response (and its SHA-256, when the agent sent one, against the bytes taken).
 */
final class ReadSegment implements FsListener {
    final long offset;
    final long len;
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>(); // guarded by this
    private int headOffset; // guarded by this
    private long received; // guarded by this
    private FsResponse response; // guarded by this
    private AgentException failure; // guarded by this
    private boolean discarded; // guarded by this
    private final MessageDigest digest; // consumer thread only
    private FsId id; // consumer thread only; set once the Read is sent

    ReadSegment(long offset, long len) {
        this.offset = offset;
        this.len = len;
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    @Override
    public synchronized void onData(byte[] data) {
        if (discarded || data.length == 0) {
            return;
        }
        received += data.length;
        if (received > len) {
            failure = new AgentException("the agent sent " + received + " bytes for a Read of " + len);
        } else {
            chunks.addLast(data);
        }
        notifyAll();
    }

    @Override
    public void onCredit(long bytes) {
        // a Read gets no credit
    }

    @Override
    public synchronized void onResponse(FsResponse r) {
        response = r;
        notifyAll();
    }

    @Override
    public synchronized void onFailure(AgentException f) {
        if (failure == null) {
            failure = f;
        }
        notifyAll();
    }

    /** The Read went out on {@code id}. */
    void sent(FsId id) {
        this.id = id;
    }

    /**
     * Nobody will take this segment's bytes (its stream was closed, or the file ended before it):
     * its data is dropped, and its id is freed now rather than when the agent answers, which an
     * agent that stopped answering never does.
     */
    void retire() {
        synchronized (this) {
            discarded = true;
            chunks.clear();
        }
        id.retire();
    }

    /**
     * Copies up to {@code n} bytes into {@code b}, waiting for them; -1 once every byte was taken
     * and the Read ended well.
     *
     * @throws GuestFileException          the agent failed the Read
     * @throws ChecksumMismatchException   the agent's SHA-256 is not that of the bytes taken
     * @throws AgentException              the connection ended, or nothing came within {@code timeout}
     *                                     (an {@link AgentTimeoutException}; then the Read is given up:
     *                                     its id retired, and every later take fails the same way at once)
     * @throws IllegalStateException       it would wait on the connection's reader thread
     */
    int take(byte[] b, int off, int n, Duration timeout, String path) throws IOException {
        byte[] head;
        int from;
        int count;
        synchronized (this) {
            long deadline = Timeouts.deadline(timeout);
            while (chunks.isEmpty() && failure == null && response == null) {
                id.refuseWaitHere("data of " + path);
                long left = Timeouts.left(deadline);
                if (left <= 0) {
                    failure = new AgentTimeoutException("no data from the agent for " + path + " within " + Timeouts.text(timeout));
                    id.retire();
                    throw failure;
                }
                try {
                    wait(left / 1_000_000, (int) (left % 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted reading " + path);
                }
            }
            if (failure != null) {
                throw failure.forCaller(); // recorded once, met by every take after it
            }
            if (chunks.isEmpty()) {
                return end(path);
            }
            head = chunks.peekFirst();
            from = headOffset;
            count = Math.min(n, head.length - headOffset);
            headOffset += count;
            if (headOffset == head.length) {
                chunks.removeFirst();
                headOffset = 0;
            }
        }
        System.arraycopy(head, from, b, off, count);
        digest.update(head, from, count);
        return count;
    }

    /** Bytes the agent sent for this Read: fewer than {@link #len} means the file ended in it. */
    synchronized long received() {
        return received;
    }

    private int end(String path) throws IOException {
        if (!response.ok()) {
            throw GuestFileException.of(path, response);
        }
        if (response.sha256() != null) {
            String ours = HexFormat.of().formatHex(digest.digest());
            if (!ours.equalsIgnoreCase(response.sha256())) {
                throw new ChecksumMismatchException(path, response.sha256(), ours);
            }
        }
        return -1;
    }
}
