package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.Payload;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * How a request gets its id on one connection: the receiver is registered on a fresh id and the
 * request sent, and the id given back when that send fails. And the calls answered by one frame
 * (ping, touch, the clock sync, raw calls), sent and awaited together within the caller's time.
 */
final class Calls {
    private final String peer;
    private final LiveIds ids;
    private final FrameWriter writer;
    private final FrameReader reader;
    /** Counts the clock syncs refused on id 0. */
    private final ControlChannel control;

    Calls(String peer, LiveIds ids, FrameWriter writer, FrameReader reader, ControlChannel control) {
        this.peer = peer;
        this.ids = ids;
        this.writer = writer;
        this.reader = reader;
        this.control = control;
    }

    /**
     * Registers the owner {@code make} builds for a fresh id (its receiver {@code receiverOf} gives)
     * and sends the frames {@code first} builds for it in one write, by {@code deadline} as
     * {@link FrameWriter#send}; when that send fails the id is given up.
     */
    <T> T open(LongFunction<T> make, Function<T, Receiver> receiverOf, Function<T, Frame[]> first, long deadline)
            throws IOException {
        T owner = ids.register(make, receiverOf);
        Frame[] frames = first.apply(owner);
        sendOrForget(frames[0].id(), deadline, () -> frames);
        return owner;
    }

    /**
     * Sends one message on a fresh id, its send giving up at {@code deadline}, and completes with
     * the terminal frame the agent answers on that id (see {@link AgentClient#call}).
     */
    CompletableFuture<Frame> call(MessageType type, Payload payload, long deadline) throws IOException {
        if (type == null) { // refused before an id is taken: the frame's own check came after, and kept it
            throw new IllegalArgumentException("frame type is required");
        }
        PendingCall pending = registerCall();
        Frame request = new Frame(pending.id, type, payload);
        sendOrForget(pending.id, deadline, () -> new Frame[] {request});
        return pending.reply;
    }

    /**
     * Sends {@code type} on a fresh id and waits for its answer, {@code what}: the send and the wait
     * together within {@code timeout}. An agent that does not read makes it time out too, with
     * nothing sent, or (a frame cut in the middle) the connection ended.
     */
    Frame callAndAwait(MessageType type, Duration timeout, String what)
            throws IOException, TimeoutException, InterruptedException {
        reader.refuseWaitOnReader(what); // before anything is sent
        long deadline = Timeouts.deadline(timeout);
        CompletableFuture<Frame> reply;
        try {
            reply = call(type, Empty.INSTANCE, deadline);
        } catch (AgentTimeoutException e) {
            throw e.asTimeoutException("no " + what + " within " + Timeouts.text(timeout) + ": ");
        } catch (InterruptedIOException e) {
            throw Interrupts.interruptedBy(e, e.getMessage());
        }
        return awaitReply(reply, deadline, timeout, what);
    }

    /** {@link AgentClient#syncClock}: a core.clock.sync on id 0 and a core.ping after it, in one write. */
    Duration syncClock(Duration timeout) throws IOException, TimeoutException, InterruptedException {
        String what = MessageType.CORE_PONG.wire();
        reader.refuseWaitOnReader(what + " after a clock.sync"); // before anything is sent
        long deadline = Timeouts.deadline(timeout);
        long refusedBefore = control.clockSyncsRefused();
        PendingCall pending = registerCall();
        long id = pending.id;
        AtomicLong sentAt = new AtomicLong();
        try {
            sendOrForget(id, deadline, () -> {
                // The time is read once the connection is this call's: not while it waited for another writer.
                sentAt.set(System.nanoTime());
                return new Frame[] {
                    new Frame(Protocol.CONTROL_ID, MessageType.CORE_CLOCK_SYNC, ClockSync.hostNow()),
                    new Frame(id, MessageType.CORE_PING, Empty.INSTANCE)};
            });
        } catch (AgentTimeoutException e) {
            throw e.asTimeoutException("no " + what + " after a clock.sync within " + Timeouts.text(timeout) + ": ");
        } catch (InterruptedIOException e) {
            throw Interrupts.interruptedBy(e, e.getMessage());
        }
        awaitReply(pending.reply, deadline, timeout, what);
        // A refusal on id 0 came before the pong (a relay refuses at once, the agent in order): it is this one's.
        if (control.clockSyncsRefused() != refusedBefore) {
            throw control.clockSyncRefusal().forCaller();
        }
        return Duration.ofNanos(System.nanoTime() - sentAt.get());
    }

    /** A {@link PendingCall} on a fresh id, which its answer (or its cancellation) frees. */
    private PendingCall registerCall() throws AgentException {
        PendingCall pending = ids.register(PendingCall::new, p -> p);
        pending.reply.whenComplete((frame, failure) -> ids.remove(pending.id, pending));
        return pending;
    }

    /**
     * Sends the frames {@code build} makes in one write (the agent reads them together), as
     * {@link FrameWriter#sendBuiltInTurn}; on failure id {@code id} is given up.
     */
    private void sendOrForget(long id, long deadline, Supplier<Frame[]> build) throws IOException {
        try {
            writer.sendBuiltInTurn(deadline, build);
        } catch (IOException | RuntimeException e) {
            ids.remove(id);
            throw e;
        }
    }

    /** @param timeout what the caller gave, for the message */
    private Frame awaitReply(CompletableFuture<Frame> reply, long deadline, Duration timeout, String what)
            throws AgentException, TimeoutException, InterruptedException {
        Frame frame;
        try {
            frame = reply.get(Timeouts.left(deadline), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            reply.cancel(false);
            throw new TimeoutException("no " + what + " within " + Timeouts.text(timeout));
        } catch (InterruptedException e) {
            reply.cancel(false); // frees the id: an agent that never answers would keep it for the connection's life
            throw e;
        } catch (ExecutionException e) {
            throw ((AgentException) e.getCause()).forCaller();
        }
        if (!frame.type().wire().equals(what)) {
            // A buggy or hostile agent's other terminal frame: an answer, not a ClassCastException.
            throw new AgentException("the agent at " + peer + " answered with " + frame.type().wire() + " on id "
                    + frame.id() + " where " + what + " was due");
        }
        return frame;
    }
}
