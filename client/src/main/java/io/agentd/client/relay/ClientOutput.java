package io.agentd.client.relay;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * What goes to the clients: the agent's frames and the relay's own, queued per client
 * ({@link RelayClient#output}, and {@link RelayClient#heldBack} behind a frame being spliced to it),
 * and written as each client's socket takes them; the clients closing once written out. The water
 * marks on those queues are {@link FlowControl}'s. Selector thread only.
 */
final class ClientOutput {
    /**
     * How long a client being closed after a refusal ({@link RelayClient#closing}) may take to read
     * it (and the rest of a frame spliced to it before): it holds a slot until then.
     */
    static final long CLOSING_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final FlowControl flow;
    private final PartialFramesBudget partialFrames;
    /** Drops a client (it broke, or is written out after its refusal): {@link ClientDepartures#drop}. */
    private final BiConsumer<RelayClient, String> drop;
    private final FrameEncoder encoder = new FrameEncoder();
    /** Clients queued for this turn, written at its end ({@link #flushQueued}). */
    private final List<RelayClient> toFlush = new ArrayList<>();
    /** Clients given views on the port's read buffer by the read being split now. */
    private final List<RelayClient> borrowers = new ArrayList<>();
    /** Clients {@link RelayClient#closing}: the loop wakes up to drop those that take too long. */
    private int clientsClosing;

    ClientOutput(FlowControl flow, PartialFramesBudget partialFrames, BiConsumer<RelayClient, String> drop) {
        this.flow = flow;
        this.partialFrames = partialFrames;
        this.drop = drop;
    }

    /** The relay's greeting, the first a client gets. */
    void greet(RelayClient c) {
        c.output.add(RelayGreeting.encode(c.range));
        toFlush.add(c);
    }

    /** Queues a frame of the relay's own, after the rest of a frame being spliced to {@code c}. */
    void add(RelayClient c, byte[] bytes) {
        if (c.restDue) {
            c.heldBack.add(bytes); // not inside the frame being spliced to it
            c.heldBackBytes += bytes.length;
            return;
        }
        boolean wasEmpty = c.output.isEmpty();
        c.output.add(ByteBuffer.wrap(bytes));
        if (wasEmpty) {
            toFlush.add(c);
        }
    }

    /** Queues a frame of the relay's own (a refusal): see {@link FlowControl#ownFrameQueued}. */
    void queueFrame(RelayClient c, Frame frame) {
        add(c, encoder.encode(frame));
        flow.ownFrameQueued(c);
    }

    /**
     * Queues a frame of the agent as a view on the port's read buffer ({@link #sendBorrowed} writes
     * or copies it before the next read): past the high mark, nothing more is read from the agent.
     */
    void queue(RelayClient c, ByteBuffer frame) {
        c.output.addBorrowed(frame);
        if (!c.borrowing) {
            c.borrowing = true;
            borrowers.add(c);
        }
        flow.agentFrameQueued(c);
    }

    /** Queues a frame of the agent that the relay keeps (the cached core.ready). */
    void queueOwned(RelayClient c, byte[] bytes) {
        add(c, bytes);
        flow.agentFrameQueued(c);
    }

    /** {@code n} more bytes of a frame of the agent went into {@code c}'s pipe, after what its queue holds. */
    void spliced(RelayClient c, long n) {
        if (c.output.isEmpty()) {
            toFlush.add(c);
        }
        c.output.addSpliced(n);
        flow.agentFrameQueued(c);
    }

    /**
     * Each client given frames of this read gets them now, in one gathering write straight from the
     * read buffer; what its socket does not take is copied to its queue before the buffer is reused.
     */
    void sendBorrowed() {
        for (RelayClient c : borrowers) {
            c.borrowing = false;
            if (!c.gone && flushOrDrop(c)) {
                c.output.keepBorrowed();
            }
        }
        borrowers.clear();
    }

    /**
     * The rest of the frame spliced to {@code c} is queued (it is due no more): the relay's own
     * frames held back for it follow it.
     */
    void restEnded(RelayClient c) {
        while (!c.heldBack.isEmpty()) {
            byte[] frame = c.heldBack.poll();
            c.heldBackBytes -= frame.length;
            add(c, frame);
        }
        if (c.closing != null) {
            toFlush.add(c); // dropped once written out: nothing else may flush it
        }
    }

    /** Writes what {@code c}'s socket takes now; drops it once it is closing and written out. */
    void flush(RelayClient c) throws IOException {
        long before = c.output.bytes();
        c.output.flush(c.channel);
        if (c.partialReserved > 0 && (c.inputPaused || c.holdsUpAgent)) {
            // Not read until it takes its queue: taking it moves it on.
            partialFrames.progressed(c, before - c.output.bytes());
        }
        flow.taken(c, before - c.output.bytes());
        flow.updateOps(c);
        if (c.closing != null && writtenOut(c)) {
            drop.accept(c, c.closing);
        }
    }

    /** Flushes a client; false when it was dropped (it broke, or it was closing and is written out). */
    boolean flushOrDrop(RelayClient c) {
        try {
            flush(c);
            return !c.gone;
        } catch (IOException e) {
            drop.accept(c, "connection broke: " + e.getMessage());
            return false;
        }
    }

    /** Writes each client queued this turn. */
    void flushQueued() {
        for (RelayClient c : toFlush) {
            if (!c.gone) {
                flushOrDrop(c);
            }
        }
        toFlush.clear();
    }

    /**
     * Drops {@code c} once what the relay queued for it is written (the refusal that says why, last):
     * at once if its socket takes it all now, otherwise when it has read it. A frame of the agent
     * being spliced to it goes first, whole: dropped in the middle of it, the client would get
     * neither its end nor the refusal (held back behind it), only a cut frame and the end of the
     * connection. It is not read meanwhile, and the agent's later frames for it are dropped.
     */
    void closeOnceWritten(RelayClient c, String why) {
        c.closing = why;
        c.closingSinceNanos = System.nanoTime();
        clientsClosing++;
        flushOrDrop(c); // drops it if that wrote everything
    }

    /** A closing client has nothing left to write: not even a frame being spliced to it. */
    private boolean writtenOut(RelayClient c) {
        return c.output.isEmpty() && c.heldBack.isEmpty() && !c.restDue;
    }

    /** Some client is closing: the loop looks at the time ({@link #closingTooLong}). */
    boolean closing() {
        return clientsClosing > 0;
    }

    /** Why {@code c} is dropped for taking longer than {@link #CLOSING_LIMIT_NANOS} to read its refusal, or null. */
    String closingTooLong(RelayClient c, long nowNanos) {
        if (c.closing == null || nowNanos - c.closingSinceNanos <= CLOSING_LIMIT_NANOS) {
            return null;
        }
        return c.closing + "; its refusal was not read within " + TimeUnit.NANOSECONDS.toSeconds(CLOSING_LIMIT_NANOS)
                + " s";
    }

    /** {@code c} is gone: what waited for it is dropped. */
    void forget(RelayClient c) {
        if (c.closing != null) {
            clientsClosing--;
        }
        c.output.clear();
        c.heldBack.clear();
        c.heldBackBytes = 0;
    }
}
