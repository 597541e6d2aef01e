package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.Timeouts;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One Write in progress: the credit the agent granted (core.fs.credit) less what was sent, and its
 * response. A writer takes bytes from the balance before sending them and waits while it is empty;
 * the reader thread adds credit without waiting. Once the Write has ended (the agent answered
 * early, which only a failure does, or the connection is gone) every writer stops waiting.
 */
final class WriteCall implements FsListener {
    final CompletableFuture<FsResponse> response = new CompletableFuture<>();
    private final boolean limited;
    private long balance; // guarded by this
    private long sent; // writer thread only

    /** @param limited the Write asked for credit ({@code window: true}); otherwise it never waits */
    WriteCall(boolean limited) {
        this.limited = limited;
    }

    @Override
    public void onData(byte[] data) {
        // a Write gets no data
    }

    @Override
    public synchronized void onCredit(long bytes) {
        boolean overflows = bytes < 0 || bytes > Long.MAX_VALUE - balance; // u64: saturate
        balance = overflows ? Long.MAX_VALUE : balance + bytes;
        notifyAll();
    }

    @Override
    public synchronized void onResponse(FsResponse r) {
        response.complete(r);
        notifyAll();
    }

    @Override
    public synchronized void onFailure(AgentException failure) {
        response.completeExceptionally(failure);
        notifyAll();
    }

    /**
     * How many of {@code wanted} bytes may be sent now (1..wanted), waiting for credit; 0 when the
     * Write has ended meanwhile (its response says how). Silence for {@code timeout} fails it.
     */
    synchronized int acquire(int wanted, Duration timeout, String path) throws IOException {
        long deadline = Timeouts.deadline(timeout);
        while (true) {
            if (response.isDone()) {
                return 0;
            }
            if (!limited) {
                return wanted;
            }
            if (balance > 0) {
                int n = (int) Math.min(wanted, balance);
                balance -= n;
                return n;
            }
            long left = Timeouts.left(deadline);
            if (left <= 0) {
                throw new AgentTimeoutException("no write credit from the agent for " + path + " within "
                        + Timeouts.text(timeout));
            }
            try {
                wait(left / 1_000_000, (int) (left % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for write credit for " + path);
            }
        }
    }

    void sent(int n) {
        sent += n;
    }

    long sent() {
        return sent;
    }
}
