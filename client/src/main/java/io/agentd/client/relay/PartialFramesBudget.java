package io.agentd.client.relay;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The room the large frames clients are in the middle of sending take on the heap
 * ({@link #PARTIAL_FRAMES_BUDGET}): who holds it, who waits for it, and who holds it without moving
 * its frame on ({@link #PARTIAL_FRAME_STALL_NANOS}). A client's share is kept on it
 * ({@link RelayClient#partialReserved} and the fields after it). Selector thread only.
 */
final class PartialFramesBudget {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /**
     * What the large frames clients are in the middle of sending may hold together (heap): each
     * such frame (over {@link FrameSplitter#FIRST_CAPACITY}) counts its whole length from its first
     * bytes, as it grows to that as they come. A client that starts one past the budget is not read
     * until the frames before it are passed on or their clients gone (it holds only what one read
     * brought, at most {@link FrameSplitter#FIRST_CAPACITY}); frames smaller than that are not
     * counted (128 clients hold 32 MiB of them at most). 128 clients each holding 4 MiB of a frame
     * held 512 MiB, and the OutOfMemoryError ended the relay for every client (a review, with
     * -Xmx256m). No client is dropped for waiting: one that sends a large frame waits its turn; one
     * that holds room and stops sending is ({@link #PARTIAL_FRAME_STALL_NANOS}).
     */
    static final long PARTIAL_FRAMES_BUDGET = 64L * 1024 * 1024;
    /**
     * A client holding room in {@link #PARTIAL_FRAMES_BUDGET} that moves its frame on by less than
     * {@link #PARTIAL_FRAME_PROGRESS_BYTES} in this long is told so (core.error on id 0) and closed,
     * and its room goes to the clients waiting: one that stopped in the middle of a large frame for
     * good held it for ever, and an upload of another waited behind it for ever. Only the client's
     * time counts: not while the relay reads no client (the port's queue past its mark), and one the
     * relay does not read because its own queue is past the mark moves on by taking from that queue.
     * 30 s, not agentd's 10 s (--frame-timeout): a client dropped loses every session it runs, and a
     * live one may stop for a while (a process stopped and resumed, a host short of memory), while
     * the cost of the wait falls only on a large frame that finds the budget full of frames stopped.
     */
    static final long PARTIAL_FRAME_STALL_NANOS = TimeUnit.SECONDS.toNanos(30);
    /**
     * How much more of its frame starts a client's time over ({@link #PARTIAL_FRAME_STALL_NANOS}):
     * a byte now and then must not keep its room for ever. 64 KiB per 30 s (about 2 KiB/s) is far
     * below any client that means to send its frame, as agentd's own rule for large frames
     * (PartialFrameDeadline.LARGE_FRAME_PROGRESS_BYTES).
     */
    static final long PARTIAL_FRAME_PROGRESS_BYTES = 64 * 1024;

    /** See {@link #PARTIAL_FRAME_STALL_NANOS} (tests make it shorter). */
    private final long stallNanos;
    /** How often the clients holding room for a large frame are looked at: a quarter of that time, at most a second. */
    private final long checkMillis;
    /** What {@link #PARTIAL_FRAMES_BUDGET} holds now. */
    private long reserved;
    /** Clients whose large frame waits for room in that budget, in the order they came. */
    private final ArrayDeque<RelayClient> waitingForRoom = new ArrayDeque<>();
    /** A client that waited for room and has it now: it is read again. */
    private final Consumer<RelayClient> readAgain;
    private final RateLimitedLog roomLog;

    PartialFramesBudget(long stallNanos, LimitedLogs logs, Consumer<RelayClient> readAgain) {
        if (stallNanos <= 0) {
            throw new IllegalArgumentException("partialFrameStallNanos " + stallNanos);
        }
        this.stallNanos = stallNanos;
        this.checkMillis = Math.max(1, Math.min(RelayLoop.HOLD_UP_CHECK_MILLIS,
                TimeUnit.NANOSECONDS.toMillis(stallNanos) / 4));
        this.readAgain = readAgain;
        this.roomLog = logs.limited("clients made to wait for room for a large frame", false);
    }

    /** Some client holds room: the loop looks at them every {@link #checkMillis}. */
    boolean holdsRoom() {
        return reserved > 0;
    }

    long checkMillis() {
        return checkMillis;
    }

    /**
     * After a read of {@code c}: the large frame it is in the middle of sending, if any, counts in
     * {@link #PARTIAL_FRAMES_BUDGET}; one started past it (or behind others waiting) waits for room,
     * and {@code c} is not read meanwhile.
     */
    void afterRead(RelayClient c, int bytesRead) {
        long held = c.input.largeFrameHeld();
        if (held == c.partialReserved) {
            // The same frame (or another of the same length, which counts the same, its time anew).
            if (held > 0) {
                if (c.input.framesAssembled() != c.partialFrame) {
                    startPartialTime(c);
                } else {
                    progressed(c, bytesRead);
                }
            }
            return;
        }
        reserved -= c.partialReserved;
        c.partialReserved = 0;
        if (held > 0) {
            if (waitingForRoom.isEmpty() && reserved + held <= PARTIAL_FRAMES_BUDGET) {
                reserve(c, held);
            } else {
                c.waitingForRoom = true;
                waitingForRoom.add(c);
                if (roomLog.admit()) {
                    log.info("relay: {} sends a frame of {} bytes while the frames clients are sending hold {} MiB,"
                            + " the relay's most; it is read again once there is room", c, held,
                            reserved >> 20);
                }
            }
        }
        admitWaitingForRoom();
    }

    /** The clients waiting for room in {@link #PARTIAL_FRAMES_BUDGET} that now fit, in turn, are read again. */
    private void admitWaitingForRoom() {
        RelayClient c;
        while ((c = waitingForRoom.peek()) != null) {
            long held = c.input.largeFrameHeld();
            if (!c.gone && reserved + held > PARTIAL_FRAMES_BUDGET) {
                return;
            }
            waitingForRoom.poll();
            c.waitingForRoom = false;
            if (!c.gone) {
                reserve(c, held); // its time starts now: the wait was not its
                readAgain.accept(c);
            }
        }
    }

    /** {@code c}'s large frame of {@code held} bytes takes its room in {@link #PARTIAL_FRAMES_BUDGET}. */
    private void reserve(RelayClient c, long held) {
        c.partialReserved = held;
        reserved += held;
        startPartialTime(c);
    }

    /** {@code c}'s time to move its large frame on ({@link #PARTIAL_FRAME_STALL_NANOS}) starts over. */
    private void startPartialTime(RelayClient c) {
        c.partialFrame = c.input.framesAssembled();
        c.partialSinceNanos = System.nanoTime();
        c.partialProgress = 0;
    }

    /** {@code c}, holding room for a large frame, moved {@code bytes} on: each {@link #PARTIAL_FRAME_PROGRESS_BYTES} starts its time over. */
    void progressed(RelayClient c, long bytes) {
        c.partialProgress += bytes;
        if (c.partialProgress >= PARTIAL_FRAME_PROGRESS_BYTES) {
            startPartialTime(c);
        }
    }

    /**
     * The relay read no client from {@code sinceNanos} to {@code nowNanos} (the port's queue was past
     * its mark): that time is not {@code c}'s (its frame may have begun during it).
     */
    void notRead(RelayClient c, long sinceNanos, long nowNanos) {
        if (c.partialReserved > 0) {
            c.partialSinceNanos += nowNanos - Math.max(c.partialSinceNanos, sinceNanos);
        }
    }

    /**
     * Why {@code c} is to be closed for holding room for a large frame {@link #PARTIAL_FRAME_STALL_NANOS}
     * without moving it on, or null when it is not (the relay tells it, if its socket takes it now,
     * and closes it at once, so that its room goes to the clients waiting for it).
     */
    String stalled(RelayClient c, long nowNanos) {
        if (c.partialReserved == 0 || nowNanos - c.partialSinceNanos < stallNanos) {
            return null;
        }
        return "less than " + (PARTIAL_FRAME_PROGRESS_BYTES >> 10) + " KiB more of a frame of "
                + c.partialReserved + " bytes came in " + shown(stallNanos);
    }

    /** {@code c} is gone: its room, or its place in the wait for room, goes to the others. */
    void release(RelayClient c) {
        if (c.waitingForRoom) {
            c.waitingForRoom = false;
            waitingForRoom.remove(c);
        }
        reserved -= c.partialReserved;
        c.partialReserved = 0;
        admitWaitingForRoom();
    }

    /** A time for a log line: whole seconds as such, else milliseconds. */
    private static String shown(long nanos) {
        long millis = TimeUnit.NANOSECONDS.toMillis(nanos);
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }
}
