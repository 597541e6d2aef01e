package io.agentd.agent.fs;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * What a worker hands to the loop as it goes (a Read's chunks, a Write's written buffers), taken on
 * the loop in the order handed. The worker posts a take only when none is waiting to run, so a busy
 * loop takes several items per wake-up instead of running one task per item.
 */
final class WorkerHandoff<T> {
    private final ConcurrentLinkedQueue<T> items = new ConcurrentLinkedQueue<>();
    /** A take is posted and has not started. */
    private final AtomicBoolean takePosted = new AtomicBoolean();
    private final Executor loop;
    private final Consumer<T> take;
    private final Runnable afterTake;

    /**
     * @param loop      runs a task on the loop thread
     * @param take      each item, on the loop
     * @param afterTake on the loop, after a posted take has taken what was there
     */
    WorkerHandoff(Executor loop, Consumer<T> take, Runnable afterTake) {
        this.loop = loop;
        this.take = take;
        this.afterTake = afterTake;
    }

    /** On the worker. */
    void hand(T item) {
        items.add(item);
        if (!takePosted.getAndSet(true)) {
            loop.execute(this::runPostedTake);
        }
    }

    /** On the loop: every item handed so far (a turn that ended calls it, should its take not have run yet). */
    void takeAll() {
        for (T item; (item = items.poll()) != null; ) {
            take.accept(item);
        }
    }

    private void runPostedTake() {
        takePosted.set(false); // before taking: an item handed after this posts again
        takeAll();
        afterTake.run();
    }
}
