package io.agentd.client.fs;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An FsTransport standing for an agent without {@code fs_ext} that answers every request at once,
 * on the caller's thread, as {@link Answers} says; data sent for a Write is dropped. For client
 * tests that script what the agent says (a listing, a page) rather than run one.
 */
public final class AnsweringTransport implements FsTransport {
    /** What the scripted agent sends for one request: frames to {@code listener}, its end included. */
    @FunctionalInterface
    public interface Answers {
        void answer(FsOp op, FsListener listener);
    }

    private final AtomicLong ids = new AtomicLong(1);
    private final Answers answers;

    public AnsweringTransport(Answers answers) {
        this.answers = answers;
    }

    @Override
    public boolean extensions() {
        return false;
    }

    @Override
    public long start(FsRequest request, FsListener listener, long deadline) {
        answers.answer(request.op(), listener);
        return ids.getAndIncrement();
    }

    @Override
    public void sendData(long id, byte[] data, int off, int len, long deadline) {}

    @Override
    public void endData(long id, long deadline) {}

    @Override
    public void retire(long id, FsListener listener) {}
}
