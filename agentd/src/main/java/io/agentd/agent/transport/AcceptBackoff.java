package io.agentd.agent.transport;

/**
 * How long a listening socket is left unwatched after accept(2) failed for a reason that lasts
 * (EMFILE, ENFILE, ENOMEM, ...): the pending connection keeps the fd readable, so watching it at once
 * would only fail again on every turn of the loop. The pause starts short, so a passing shortage
 * costs a host little, and doubles up to a bound while the failure lasts. Loop thread only.
 */
final class AcceptBackoff {
    static final long FIRST_MILLIS = 10;
    static final long MAX_MILLIS = 1000;

    private long nextMillis = FIRST_MILLIS;

    /** accept failed again: the pause before the next try. */
    long failed() {
        long pause = nextMillis;
        nextMillis = Math.min(MAX_MILLIS, nextMillis * 2);
        return pause;
    }

    /** accept worked: the next failure starts over with the short pause. */
    void succeeded() {
        nextMillis = FIRST_MILLIS;
    }
}
