package io.agentd.agent.fs;

/**
 * How long one worker task of a long fs operation (a Copy's bytes, a tree walk's entries) goes on
 * before it gives the worker back ({@link FsSlicedRequest}): the agent has few workers, shared by
 * every host's fs requests, and a Copy of an 8 TiB file on one of them for its whole length left
 * every other host's Stat unanswered for hours (a review). A slice always does one step (a chunk,
 * an entry), however short it is.
 */
final class FsSlice {
    /** Long enough that the requeue between slices costs next to nothing, short beside a host's patience. */
    static final long DEFAULT_NANOS = 10_000_000L;
    /** Test seam: the length of the slices begun from now (0: one step each). */
    static volatile long nanos = DEFAULT_NANOS;

    private final long end = System.nanoTime() + nanos;

    /** Whether this slice's time is up: the work stops at its next step's start and is requeued. */
    boolean over() {
        return System.nanoTime() - end >= 0;
    }
}
