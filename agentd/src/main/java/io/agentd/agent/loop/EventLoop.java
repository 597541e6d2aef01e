package io.agentd.agent.loop;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The agent's single event loop: one thread, one epoll, every fd. Handlers, timers and posted tasks
 * all run on the loop thread, so nothing they touch needs locking. Only {@link #execute} and
 * {@link #stop} may be called from other threads (they wake the loop through an eventfd).
 */
public final class EventLoop implements Loop, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EventLoop.class);
    private static final int MAX_EVENTS = 256;
    private static final int EFD_NONBLOCK = 0x800;
    private static final int EFD_CLOEXEC = 0x80000;
    /** How far down a cause chain {@link #failed} looks for an Error (a chain may loop). */
    private static final int MAX_CAUSE_DEPTH = 16;
    /**
     * Cancelled timers are swept out of the queue once they are this many and more than half of it.
     * A cancelled timer otherwise waits for its deadline, which a host chooses (timeout_ms) or which
     * is long (--retain-exited): 1,000 quick sessions with a one-day timeout left 1,000 timers queued
     * for a day, so the queue grew with the session rate times the timeout, without bound. The sweep
     * is O(n) and runs after at least n/2 cancels, so a cancel stays O(1) amortized.
     */
    static final int SWEEP_MIN_CANCELLED = 1024;
    /**
     * The longest delay a timer is given (about 73 years; a longer one waits that long). Deadlines
     * are nanoTime values ordered by their difference, which overflows past 2^63 ns: a delay near
     * Long.MAX_VALUE (a host's timeout_ms of 2^63-1, say) sorted before timers already due, which
     * then waited behind it (the reaper's sweep among them), and the loop's wait overflowed to none.
     */
    static final long MAX_DELAY_MILLIS = TimeUnit.NANOSECONDS.toMillis(Long.MAX_VALUE / 4);

    /** How often an fd epoll refused to watch again is tried again (see {@link EpollRegistration#apply}). */
    static final long REWATCH_MILLIS = 100;

    private final Epoll epoll;
    private final Map<Long, EpollRegistration> registrations = new HashMap<>();
    /** Registrations whose interest epoll refused to take back (in order); none while they wait is lost. */
    private final Set<EpollRegistration> rewatching = new LinkedHashSet<>();
    private Timer rewatchTimer;
    /** Lines about refused re-watches: at most one a minute. */
    private final LogThrottle rewatchLog = new LogThrottle(this, 60_000, log, Level.WARN, "fds epoll would not watch again");
    private final PriorityQueue<ScheduledTask> timers = new PriorityQueue<>();
    /**
     * Tasks scheduled with no delay, in order: run at the end of the turn, after the due timers,
     * without a clock read or a place in {@link #timers} (a connection's end-of-turn flush is one
     * per turn that queued output, a PTY keystroke's echo among them).
     */
    private final ArrayDeque<ScheduledTask> dueNow = new ArrayDeque<>();
    /** Timers cancelled while still in {@link #timers}. */
    private int cancelledInQueue;
    private final Queue<Runnable> posted = new ConcurrentLinkedQueue<>();
    private final int wakeFd;
    /**
     * The eventfd increment every wake writes. One buffer for all threads, because nothing ever
     * changes it after this line (write(2) only reads it, and its position stays 0): a buffer per
     * wake was a direct allocation per task posted from a worker, freed only when a GC found it, so
     * an fs transfer grew the agent's RSS by megabytes until the next full GC.
     */
    private static final ByteBuffer WAKE_ONE =
            ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, 1L);
    private final ByteBuffer wakeDrain = ByteBuffer.allocateDirect(8);
    private long nextToken = 1;
    private long nextTimerSeq;
    private volatile boolean stopped;
    private Thread thread;

    public EventLoop() throws OsException {
        this.epoll = new Epoll(MAX_EVENTS);
        this.wakeFd = Os.check("eventfd", Os.libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        register(wakeFd, events -> drainWakeups()).setRead(true);
    }

    @Override
    public Registration register(int fd, Handler handler) {
        EpollRegistration r = new EpollRegistration(fd, nextToken++, handler);
        registrations.put(r.token, r);
        return r;
    }

    @Override
    public Timer schedule(long delayMillis, Runnable task) {
        if (delayMillis <= 0) {
            ScheduledTask t = new ScheduledTask(0, nextTimerSeq++, task, false);
            dueNow.add(t);
            return t;
        }
        long delay = Math.min(delayMillis, MAX_DELAY_MILLIS);
        ScheduledTask t = new ScheduledTask(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay),
                nextTimerSeq++, task, true);
        timers.add(t);
        return t;
    }

    /** Thread-safe: runs {@code task} on the loop thread soon. Safe from signal handlers. */
    public void execute(Runnable task) {
        posted.add(task);
        wake();
    }

    /** Thread-safe: makes {@link #run} return after the current iteration. */
    @Override
    public void stop() {
        stopped = true;
        wake();
    }

    public boolean inLoopThread() {
        return Thread.currentThread() == thread;
    }

    /** Runs the loop on the calling thread until {@link #stop}. */
    public void run() throws OsException {
        thread = Thread.currentThread();
        while (!stopped) {
            int n = epoll.await(timeoutMillis());
            for (int i = 0; i < n && !stopped; i++) {
                EpollRegistration r = registrations.get(epoll.token(i));
                // cancelled or without interest since epoll_wait returned: the event is stale
                if (r != null && r.mask != 0) {
                    dispatch(r, epoll.mask(i));
                }
            }
            // Those a timer schedules with no delay wait for the next turn, as before they had their
            // own place in the queue: a task that schedules itself again cannot hold the loop.
            int scheduledDuringDispatch = dueNow.size();
            runDueTimers();
            runDueNow(scheduledDuringDispatch);
            runPosted();
        }
    }

    private void dispatch(EpollRegistration r, int events) {
        try {
            r.handler.onEvents(events);
        } catch (RuntimeException e) {
            failed("handler for fd " + r.fd + " failed", e);
        }
    }

    /**
     * A handler's, timer's or task's exception is logged and the loop goes on: it concerns one fd
     * or session. An Error is not caught here: the process ends (Main), since after an out-of-memory
     * or a stack overflow no state the loop holds can be trusted. Nor is one that a library wrapped
     * in a RuntimeException.
     */
    private static void failed(String what, RuntimeException e) {
        Throwable cause = e.getCause();
        for (int depth = 0; cause != null && depth < MAX_CAUSE_DEPTH; depth++, cause = cause.getCause()) {
            if (cause instanceof Error error) {
                throw error;
            }
        }
        log.error(what, e);
    }

    private int timeoutMillis() {
        if (!posted.isEmpty() || !dueNow.isEmpty()) {
            return 0;
        }
        ScheduledTask next;
        while ((next = timers.peek()) != null && next.cancelled) {
            timers.poll();
            cancelledInQueue--;
        }
        if (next == null) {
            return -1;
        }
        long waitNanos = next.deadline - System.nanoTime();
        if (waitNanos <= 0) {
            return 0;
        }
        return (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(waitNanos + 999_999));
    }

    private void runDueTimers() {
        long now = System.nanoTime();
        ScheduledTask t;
        while ((t = timers.peek()) != null && t.deadline - now <= 0) {
            timers.poll();
            if (t.cancelled) {
                cancelledInQueue--;
            } else {
                runOnce(t);
            }
        }
    }

    private void runDueNow(int count) {
        for (int i = 0; i < count; i++) {
            ScheduledTask t = dueNow.poll();
            if (!t.cancelled) {
                runOnce(t);
            }
        }
    }

    /** Runs a task not cancelled, marked so first (a cancel from inside it, or later, does nothing). */
    private static void runOnce(ScheduledTask t) {
        t.cancelled = true;
        try {
            t.task.run();
        } catch (RuntimeException e) {
            failed("timer task failed", e);
        }
    }

    private void onCancelled() {
        cancelledInQueue++;
        if (cancelledInQueue >= SWEEP_MIN_CANCELLED && cancelledInQueue > timers.size() / 2) {
            timers.removeIf(t -> t.cancelled);
            cancelledInQueue = 0;
        }
    }

    /** Timers in the queue, cancelled ones not yet swept out included (for tests). */
    int queuedTimers() {
        return timers.size();
    }

    private void runPosted() {
        Runnable task;
        while ((task = posted.poll()) != null) {
            try {
                task.run();
            } catch (RuntimeException e) {
                failed("posted task failed", e);
            }
        }
    }

    private void wake() {
        Os.libc().write(wakeFd, WAKE_ONE, 8);
    }

    private void drainWakeups() {
        try {
            wakeDrain.clear();
            Os.read(wakeFd, wakeDrain);
        } catch (OsException e) {
            log.error("eventfd read failed", e);
        }
    }

    @Override
    public void close() {
        epoll.close();
        Os.close(wakeFd);
    }

    /** An fd in epoll (see {@link Loop.Registration}). */
    private final class EpollRegistration implements Registration {
        private final int fd;
        private final long token;
        private final Handler handler;
        private boolean read;
        private boolean write;
        private boolean edge;
        private int mask;
        private boolean cancelled;
        /**
         * epoll refusing the fd is retried by the loop, not thrown (see {@link #apply}): it has taken
         * the fd once (a later add is a re-watch after a pause), or the owner said so.
         */
        private boolean retryRefusals;

        private EpollRegistration(int fd, long token, Handler handler) {
            this.fd = fd;
            this.token = token;
            this.handler = handler;
        }

        @Override
        public int fd() {
            return fd;
        }

        @Override
        public void setRead(boolean on) {
            read = on;
            apply();
        }

        @Override
        public void setWrite(boolean on) {
            write = on;
            apply();
        }

        @Override
        public void setEdgeTriggered(boolean on) {
            edge = on;
            apply();
        }

        @Override
        public boolean reading() {
            return read;
        }

        @Override
        public boolean writing() {
            return write;
        }

        @Override
        public void retryWhenRefused() {
            retryRefusals = true;
        }

        @Override
        public boolean awaitingWatch() {
            return rewatching.contains(this);
        }

        @Override
        public void cancel() {
            if (cancelled) {
                return;
            }
            read = false;
            write = false;
            apply();
            cancelled = true;
            registrations.remove(token);
            rewatching.remove(this);
        }

        private void apply() {
            if (cancelled) {
                return;
            }
            int want = (read ? Epoll.IN : 0) | (write ? Epoll.OUT : 0);
            if (want != 0 && edge) {
                want |= Epoll.EDGE;
            }
            if (want == mask) {
                return;
            }
            try {
                if (mask == 0) {
                    try {
                        epoll.add(fd, want, token);
                    } catch (OsException e) {
                        if (!retryRefusals) {
                            throw e; // a new fd: its owner decides (a connection is refused, a port tried again)
                        }
                        rewatchLater(this, e);
                        return;
                    }
                    retryRefusals = true;
                    rewatching.remove(this);
                } else if (want == 0) {
                    epoll.remove(fd);
                } else {
                    epoll.modify(fd, want, token);
                }
                mask = want;
            } catch (OsException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * epoll refused to take back an fd whose interest was off (ENOSPC past the uid's
     * max_user_watches, which sessions running as root share with the agent; ENOMEM): a session's
     * output resumed after backpressure, a host's input after a pause. Its owner goes on as if it
     * were watched, and the loop tries again every {@link #REWATCH_MILLIS} until epoll takes it:
     * thrown to the owner, the fd stayed unwatched and its session or host stalled for good (and
     * the other sessions resumed in the same turn with it).
     */
    private void rewatchLater(EpollRegistration r, OsException e) {
        if (rewatching.add(r)) {
            if (rewatchLog.take()) {
                log.warn("cannot watch fd {} again ({}); trying again every {} ms ({} fd(s) waiting)", r.fd,
                        e.getMessage(), REWATCH_MILLIS, rewatching.size());
            }
        }
        if (rewatchTimer == null) {
            rewatchTimer = schedule(REWATCH_MILLIS, this::rewatch);
        }
    }

    private void rewatch() {
        rewatchTimer = null;
        for (EpollRegistration r : new ArrayList<>(rewatching)) {
            rewatching.remove(r);
            r.apply(); // back in the set if refused again
        }
    }

    /** A timer in the loop's queue, by deadline then by order of scheduling. */
    private final class ScheduledTask implements Timer, Comparable<ScheduledTask> {
        private final long deadline;
        private final long seq;
        /** Null once cancelled: a cancelled timer stays in the queue until its deadline, and must not
         *  keep what its task refers to (a closed connection's link and buffers) alive till then. */
        private Runnable task;
        private boolean cancelled;

        /** In {@link #timers} (else in {@link #dueNow}, which a cancelled task leaves at the turn's end). */
        private final boolean byDeadline;

        private ScheduledTask(long deadline, long seq, Runnable task, boolean byDeadline) {
            this.deadline = deadline;
            this.seq = seq;
            this.task = task;
            this.byDeadline = byDeadline;
        }

        @Override
        public void cancel() {
            if (cancelled) {
                return; // cancelled already, or ran: out of the queue, or counted
            }
            cancelled = true;
            task = null;
            if (byDeadline) {
                onCancelled();
            }
        }

        @Override
        public int compareTo(ScheduledTask o) {
            int c = Long.compare(deadline - o.deadline, 0);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
