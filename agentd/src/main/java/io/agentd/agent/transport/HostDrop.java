package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;

/**
 * A host being dropped (its stream was lost on a DROP_HOST link, or a frame timed out): why, and
 * how long it may still read what is queued for it (the core.error that says why among it) before
 * the link hangs up anyway. Made when a drop begins and gone with the hang-up, so a link that drops
 * nobody holds none; it is its own linger's task. Loop thread only.
 */
final class HostDrop implements Runnable {
    /** After a lost stream or a frame timeout, how long the host gets to read what is queued before the hang-up. */
    static final long LINGER_MILLIS = 1000;

    private final PortLink link;
    /** Why, for the hang-up's log line. */
    private final String why;
    /** Drops the host if the queue has not drained by then; null once it ran or was cancelled. */
    private Loop.Timer deadline;

    HostDrop(PortLink link, String why) {
        this.link = link;
        this.why = why;
    }

    /** The host has {@link #LINGER_MILLIS} from now to read what is queued. */
    void startLinger(Loop loop) {
        deadline = loop.schedule(LINGER_MILLIS, this);
    }

    /** The linger is over, and the queue has not drained: the host is hung up all the same. */
    @Override
    public void run() {
        deadline = null;
        if (link.connected()) {
            link.hangup(why + "; " + link.writer().queuedBytes()
                    + " bytes the host did not read in " + LINGER_MILLIS + " ms");
        }
    }

    /**
     * What a write the host took, or could not take, means for the drop: it ends with the hang-up,
     * {@code how} saying what became of the queue.
     */
    void finish(String how) {
        if (link.connected()) {
            link.hangup(why + "; " + how);
        }
    }

    /** The host is gone: its linger ends with it. */
    void cancel() {
        if (deadline != null) {
            deadline.cancel();
            deadline = null;
        }
    }
}
