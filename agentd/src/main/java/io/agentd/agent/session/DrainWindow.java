package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Timer;

/**
 * The drain window: the leader has exited, and descendants may still hold an output fd open. What
 * they write is read until every output is at EOF (the session ends then) or the window ends; at
 * its end what is already there is taken and the outputs are closed ({@link Session#lastDrainRead}). Not while
 * the host's output is paused: read past the pause (up to a pipe's worth per output), sessions
 * ending together would queue without bound for a host that stopped reading; the last read waits
 * until it reads again ({@link #hostReadsAgain}), or until it is gone. In the agent's shutdown it
 * waits for no host: the shutdown waits for every session's end, and the host gets what it can take
 * of the rest in the shutdown's flush.
 */
final class DrainWindow {
    /**
     * Paused ({@link Session#pauseOutput}) and ended ({@link Session#lastDrainRead}) through the
     * session itself rather than two lambdas: a window is made for most sessions' ends (a leader's
     * exit is often heard before its outputs' EOF), and the many-session figures count its objects.
     */
    private final Session session;
    private final Loop loop;
    private Timer timer;
    /** From the leader's exit until the session ends ({@link #close}). */
    private boolean open;
    /** The window ended while output was paused: its last read waits for the host to read again. */
    private boolean lastReadDue;

    DrainWindow(Session session, Loop loop) {
        this.session = session;
        this.loop = loop;
    }

    /** The leader exited with output still open: the window ends after {@code drainMillis}. */
    void open(long drainMillis) {
        open = true;
        timer = loop.schedule(drainMillis, this::end);
    }

    /** The host reads again: a last read that waited for it is done now. */
    void hostReadsAgain() {
        endOnTheNextTurnIfDue();
    }

    /**
     * The agent is shutting down ({@link Session#shuttingDown()}, which a window that ends later reads
     * too: a leader that dies of the shutdown's SIGTERM): a last read that waited for a paused host
     * is done now.
     */
    void shutdown() {
        endOnTheNextTurnIfDue();
    }

    /** The session ended, whichever way: a window's end still scheduled does nothing. */
    void close() {
        open = false;
        if (timer != null) {
            timer.cancel();
        }
    }

    private void endOnTheNextTurnIfDue() {
        if (lastReadDue) {
            // On the loop's next turn, not inside the caller's: an attach re-hosts the session
            // after it resumed it, and must not find it over.
            loop.schedule(0, this::end);
        }
    }

    private void end() {
        if (!open) {
            return;
        }
        if (!session.shuttingDown() && !session.route.acceptsOutput()) {
            lastReadDue = true;
            session.pauseOutput();
            return;
        }
        lastReadDue = false;
        session.lastDrainRead();
    }
}
