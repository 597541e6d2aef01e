package io.agentd.agent.loop;

import io.agentd.agent.sys.OsException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * A {@link Loop} a test drives by hand, after Netty's EmbeddedChannel: readiness is fired with
 * {@link #fire}, time moves only with {@link #advance}, and nothing touches the kernel. The state
 * machine under test cannot tell it from the epoll loop; a test runs in milliseconds.
 */
public final class ScriptedLoop implements Loop {
    private static final int ENOSPC = 28;

    private final Map<Integer, FakeRegistration> byFd = new HashMap<>();
    private final List<FakeRegistration> all = new ArrayList<>();
    private final PriorityQueue<FakeTimer> timers = new PriorityQueue<>();
    private long nowMillis;
    private long seq;
    private boolean stopped;
    private boolean refusingNewWatches;

    @Override
    public Registration register(int fd, Handler handler) {
        FakeRegistration old = byFd.get(fd);
        if (old != null && !old.cancelled) {
            throw new AssertionError("fd " + fd + " registered twice (epoll would refuse it)");
        }
        FakeRegistration r = new FakeRegistration(fd, handler, refusingNewWatches);
        byFd.put(fd, r);
        all.add(r);
        return r;
    }

    @Override
    public Timer schedule(long delayMillis, Runnable task) {
        FakeTimer t = new FakeTimer(nowMillis + Math.max(0, delayMillis), seq++, task);
        timers.add(t);
        return t;
    }

    @Override
    public void stop() {
        stopped = true;
    }

    public boolean stopped() {
        return stopped;
    }

    /**
     * While on, a registration made now fails when it is first asked to watch (setRead or setWrite
     * on), as epoll_ctl ADD fails past the uid's max_user_watches (ENOSPC); registrations made
     * before go on working.
     */
    public void refuseNewWatches(boolean on) {
        refusingNewWatches = on;
    }

    /** Delivers {@code events} to the fd's live registration, as epoll would; false if there is none. */
    public boolean fire(int fd, int events) {
        FakeRegistration r = byFd.get(fd);
        if (r == null || r.cancelled) {
            return false;
        }
        r.handler.onEvents(events);
        return true;
    }

    /** Delivers {@code events} only when the registration asks for them (read or write interest). */
    public boolean fireIfWatched(int fd, int events) {
        FakeRegistration r = byFd.get(fd);
        if (r == null || r.cancelled) {
            return false;
        }
        int wanted = (r.read ? READABLE : 0) | (r.write ? WRITABLE : 0) | HANGUP | ERROR;
        if ((events & wanted) == 0 || (!r.read && !r.write)) {
            return false;
        }
        r.handler.onEvents(events & wanted);
        return true;
    }

    /** Moves time on by {@code millis}, running every timer that comes due, in order. */
    public void advance(long millis) {
        long until = nowMillis + millis;
        FakeTimer t;
        while ((t = timers.peek()) != null && t.at <= until) {
            timers.poll();
            nowMillis = Math.max(nowMillis, t.at);
            runUnlessCancelled(t);
        }
        nowMillis = until;
    }

    /**
     * One turn of the loop at the current time: the timers due now run, not those they schedule
     * (as in {@link EventLoop}, where a task scheduled by a timer waits for the next epoll round).
     */
    public void turn() {
        List<FakeTimer> due = new ArrayList<>();
        FakeTimer t;
        while ((t = timers.peek()) != null && t.at <= nowMillis) {
            due.add(timers.poll());
        }
        due.forEach(ScriptedLoop::runUnlessCancelled);
    }

    private static void runUnlessCancelled(FakeTimer t) {
        if (!t.cancelled) {
            t.cancelled = true;
            t.task.run();
        }
    }

    public long nowMillis() {
        return nowMillis;
    }

    /** The loop's clock in nanoseconds (for classes that take a clock). */
    @Override
    public long nanoTime() {
        return nowMillis * 1_000_000;
    }

    /** The fd's latest registration, or null. */
    public FakeRegistration registration(int fd) {
        return byFd.get(fd);
    }

    /** The fd registered last (a connection just accepted). */
    public int lastRegisteredFd() {
        return all.get(all.size() - 1).fd;
    }

    /** Registrations not cancelled. */
    public long liveRegistrations() {
        return all.stream().filter(r -> !r.cancelled).count();
    }

    /** Timers neither run nor cancelled. */
    public long pendingTimers() {
        return timers.stream().filter(t -> !t.cancelled).count();
    }

    public static final class FakeRegistration implements Registration {
        private final int fd;
        private final Handler handler;
        private boolean read;
        private boolean write;
        private boolean edge;
        private boolean cancelled;
        /** Made while the loop refused new watches: watching it fails (see {@link #refuseNewWatches}). */
        private final boolean refused;
        private boolean retriesWhenRefused;

        private FakeRegistration(int fd, Handler handler, boolean refused) {
            this.fd = fd;
            this.handler = handler;
            this.refused = refused;
        }

        private void failIfRefused(boolean on) {
            if (on && refused && !read && !write && !cancelled) {
                throw new UncheckedIOException(new OsException("epoll_ctl", ENOSPC));
            }
        }

        @Override
        public int fd() {
            return fd;
        }

        @Override
        public void setRead(boolean on) {
            failIfRefused(on);
            read = on && !cancelled;
        }

        @Override
        public void setWrite(boolean on) {
            failIfRefused(on);
            write = on && !cancelled;
        }

        @Override
        public void setEdgeTriggered(boolean on) {
            edge = on;
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
            retriesWhenRefused = true;
        }

        /** Its owner marked it {@link #retryWhenRefused}. */
        public boolean retriesWhenRefused() {
            return retriesWhenRefused;
        }

        public boolean edgeTriggered() {
            return edge;
        }

        public boolean cancelled() {
            return cancelled;
        }

        @Override
        public void cancel() {
            read = false;
            write = false;
            cancelled = true;
        }
    }

    private static final class FakeTimer implements Timer, Comparable<FakeTimer> {
        private final long at;
        private final long seq;
        private final Runnable task;
        private boolean cancelled;

        private FakeTimer(long at, long seq, Runnable task) {
            this.at = at;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }

        @Override
        public int compareTo(FakeTimer o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
