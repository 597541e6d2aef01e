package io.agentd.agent.session;

import java.util.ArrayDeque;

/**
 * The stdin bytes all sessions together may hold (--stdin-total): what is queued for children, plus
 * the credit granted to flow-controlled hosts and not used yet. Credit is reserved here when it is
 * granted, so a host that keeps within its credit always finds room. A window that could not be
 * topped up in full waits in a FIFO and is served, in order, as other sessions release bytes.
 * Loop thread only.
 */
final class StdinBudget {
    private final long limit;
    private long used;
    private final ArrayDeque<StdinWindow> waiting = new ArrayDeque<>();

    StdinBudget(long limit) {
        this.limit = limit;
    }

    /** Takes {@code n} bytes for data that came without credit; false (nothing taken) when they do not fit. */
    boolean tryTake(long n) {
        if (used + n > limit) {
            return false;
        }
        used += n;
        return true;
    }

    /**
     * Reserves up to {@code wanted} bytes of credit for {@code window}; returns how many. A window
     * that gets less (windows queued before it are served first) waits for the rest.
     */
    long reserve(StdinWindow window, long wanted) {
        long granted = waiting.isEmpty() ? Math.min(wanted, available()) : 0;
        used += granted;
        if (granted < wanted && !waiting.contains(window)) {
            waiting.add(window);
        }
        return granted;
    }

    /** Gives back {@code n} bytes and hands what is free to the waiting windows, oldest first. */
    void release(long n) {
        used -= n;
        if (used < 0) {
            throw new IllegalStateException("stdin budget released " + -used + " bytes more than it gave");
        }
        StdinWindow head;
        while (available() > 0 && (head = waiting.peek()) != null) {
            long granted = Math.min(head.wanted(), available());
            used += granted;
            if (granted == head.wanted()) {
                waiting.poll();
            }
            head.grant(granted);
        }
    }

    /** {@code window} no longer wants credit (its session ended or its stdin closed). */
    void leave(StdinWindow window) {
        waiting.remove(window);
    }

    long available() {
        return limit - used;
    }

    /** Bytes queued plus credit outstanding, over all sessions. */
    long used() {
        return used;
    }

    long limit() {
        return limit;
    }

    int waitingCount() {
        return waiting.size();
    }
}
