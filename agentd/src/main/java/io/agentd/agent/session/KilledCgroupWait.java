package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Timer;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.session.cgroup.SessionCgroups;
import java.util.concurrent.TimeUnit;

/**
 * A session ending under a kill (its timeout, the shutdown) has everything in its cgroup killed,
 * and its exited comes after those deaths: the cgroup's emptiness (cgroup.events populated 0) is
 * polled on the loop's timer, up to {@link SessionCgroups#KILL_WAIT_MILLIS}, so the loop never
 * sleeps for one session.
 */
final class KilledCgroupWait {
    /** How often a killed cgroup is looked at until it is empty. */
    private static final long EMPTY_POLL_MILLIS = 2;

    private final SessionCgroup cgroup;
    private final Loop loop;
    /** The cgroup was killed and still held processes: the exited waits (until {@link #stop}). */
    private boolean waiting;
    private Timer pollTimer;

    KilledCgroupWait(SessionCgroup cgroup, Loop loop) {
        this.cgroup = cgroup;
        this.loop = loop;
    }

    /**
     * Kills what the cgroup holds (setsid'd and double-forked descendants too). Returns false when
     * it is empty at once; else {@code exitedDue} runs once it is, or once the wait is over.
     */
    boolean killAndAwaitEmpty(Runnable exitedDue) {
        cgroup.kill(0);
        if (!cgroup.populated()) {
            return false;
        }
        waiting = true;
        long waitNanos = TimeUnit.MILLISECONDS.toNanos(SessionCgroups.KILL_WAIT_MILLIS);
        awaitEmpty(System.nanoTime() + waitNanos, exitedDue);
        return true;
    }

    /** Done, its exited held until the killed cgroup is empty (or the wait is over). */
    boolean waiting() {
        return waiting;
    }

    /** The session was abandoned: no exited follows. */
    void stop() {
        waiting = false;
        if (pollTimer != null) {
            pollTimer.cancel();
        }
    }

    private void awaitEmpty(long deadlineNanos, Runnable exitedDue) {
        pollTimer = loop.schedule(EMPTY_POLL_MILLIS, () -> {
            if (!waiting) {
                return; // abandoned meanwhile
            }
            if (cgroup.populated() && System.nanoTime() - deadlineNanos < 0) {
                awaitEmpty(deadlineNanos, exitedDue);
                return;
            }
            waiting = false;
            exitedDue.run();
        });
    }
}
