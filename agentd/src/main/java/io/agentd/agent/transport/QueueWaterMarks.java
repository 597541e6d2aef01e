package io.agentd.agent.transport;

/**
 * Backpressure on the queue of frames for the host, after Netty's {@code WriteBufferWaterMark}: at
 * the high-water mark session output stops being read, and it is read again once the queue drained
 * to half of it (the gap keeps a queue hovering at the mark from flapping). A host that reads
 * nothing while the queue grows past {@link #INPUT_PAUSE_FACTOR} times the mark (replies to its own
 * requests) has its input paused until the queue is back under the mark, so it cannot make the
 * agent queue without bound; while every host's queues together are past the agent's budget
 * ({@link OutboundTotal}), already at the mark. Pure state: the caller acts on the edges these
 * methods report.
 */
final class QueueWaterMarks {
    static final int INPUT_PAUSE_FACTOR = 4;

    private final long highWater;
    private boolean outputAllowed = true;
    private boolean inputPaused;

    QueueWaterMarks(long highWater) {
        this.highWater = highWater;
    }

    /** False while session output must not be read (the queue went past the high-water mark). */
    boolean outputAllowed() {
        return outputAllowed;
    }

    boolean inputPaused() {
        return inputPaused;
    }

    /** The queue grew to {@code queued}: stops session output at the mark. */
    void grew(long queued) {
        if (outputAllowed && queued >= highWater) {
            outputAllowed = false;
        }
    }

    /**
     * The queue grew to {@code queued} while a host is connected, with every host's queues together
     * past the agent's budget or not; true when input must pause now.
     */
    boolean inputShouldPause(long queued, boolean agentOverBudget) {
        if (!inputPaused && queued >= (agentOverBudget ? highWater : highWater * INPUT_PAUSE_FACTOR)) {
            inputPaused = true;
            return true;
        }
        return false;
    }

    /** The queue shrank to {@code queued}; true when paused input may be read again now. */
    boolean inputShouldResume(long queued) {
        if (inputPaused && queued < highWater) {
            inputPaused = false;
            return true;
        }
        return false;
    }

    /** The queue shrank to {@code queued}; true when session output may be read again now. */
    boolean outputShouldResume(long queued) {
        if (!outputAllowed && queued <= highWater / 2) {
            outputAllowed = true;
            return true;
        }
        return false;
    }

    /** The host went away: its input pause ends with it (a new host starts unpaused). */
    void hostGone() {
        inputPaused = false;
    }
}
