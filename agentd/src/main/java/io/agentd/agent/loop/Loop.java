package io.agentd.agent.loop;

/**
 * What the agent's state machines need of the event loop: fd readiness and timers, all on one
 * thread. {@link EventLoop} is the real one (epoll); a test drives a scripted one instead, firing
 * readiness and advancing time by hand, so Session, PortLink and Agent run without a subprocess.
 */
public interface Loop {
    /** Event bits passed to {@link Handler#onEvents}. */
    int READABLE = Epoll.IN;
    int WRITABLE = Epoll.OUT;
    int ERROR = Epoll.ERR;
    int HANGUP = Epoll.HUP;

    /** Reacts to readiness of one fd; {@code events} is a mask of the constants above. */
    @FunctionalInterface
    interface Handler {
        void onEvents(int events);
    }

    /**
     * One fd's place in the loop: a handler and the interest (read, write) it wants. With no
     * interest the fd is taken out of epoll entirely, so an idle fd cannot report errors or
     * hang-ups in a loop. Cancel it before closing the fd. Turning interest on throws when epoll
     * refuses an fd it never took (ENOSPC, ENOMEM: the owner refuses or retries it); for an fd it
     * took before, the loop tries again until epoll takes it, and the owner is not told.
     */
    interface Registration {
        int fd();

        void setRead(boolean on);

        void setWrite(boolean on);

        /**
         * Edge-triggered: each change of the fd's readiness is reported once. For a condition that
         * lasts and cannot be masked (a hang-up), where level-triggered interest would spin.
         */
        void setEdgeTriggered(boolean on);

        boolean reading();

        boolean writing();

        /**
         * From now on epoll refusing this fd is the loop's to retry, even before its first watch:
         * for an fd whose owner turns interest on only later, with nothing it could refuse then (a
         * session's stdin pipe, first watched when the child stops reading). Set by itself after
         * the first watch epoll takes.
         */
        default void retryWhenRefused() {
        }

        /** epoll refused the interest turned on, and the loop is trying again: no event comes meanwhile. */
        default boolean awaitingWatch() {
            return false;
        }

        /** Takes the fd out of the loop for good (idempotent). */
        void cancel();
    }

    /** A task scheduled on the loop; cancel is idempotent and safe after it ran. */
    interface Timer {
        void cancel();
    }

    /** Registers an fd with no interest yet; turn interest on with the returned registration. */
    Registration register(int fd, Handler handler);

    /** Runs {@code task} on the loop thread after {@code delayMillis}. */
    Timer schedule(long delayMillis, Runnable task);

    /** Makes the loop return after the current iteration. */
    void stop();

    /** The loop's clock, in nanoseconds: System.nanoTime, or a test's scripted time. */
    default long nanoTime() {
        return System.nanoTime();
    }
}
