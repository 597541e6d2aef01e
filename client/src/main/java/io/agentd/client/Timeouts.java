package io.agentd.client;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * How every timeout of this library is read. A duration too long for a long count of nanoseconds
 * ({@code Duration.ofSeconds(Long.MAX_VALUE)}, {@code ChronoUnit.FOREVER.getDuration()}) means no
 * deadline: it is taken as about 292 years instead of failing with the ArithmeticException of
 * {@link Duration#toNanos}. Zero or a negative duration means not to wait: a call whose answer has
 * not come yet times out at once. Null is refused with a NullPointerException.
 */
public final class Timeouts {
    /** A deadline ({@link System#nanoTime}) that never comes: {@link #deadline} of a timeout too long for a long. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    private Timeouts() {}

    /** The timeout in nanoseconds: {@link Long#MAX_VALUE} when it does not fit, 0 when negative. */
    public static long nanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            return 0;
        }
        try {
            return timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * The {@link System#nanoTime} at which {@code timeout} from now is over; {@link Long#MAX_VALUE}
     * (no deadline) when that does not fit in a long.
     */
    public static long deadline(Duration timeout) {
        long nanos = nanos(timeout);
        try {
            return Math.addExact(System.nanoTime(), nanos);
        } catch (ArithmeticException tooFar) {
            return NO_DEADLINE;
        }
    }

    /**
     * A timeout as messages show it: {@code 60s}, {@code 1500ms}, {@code 250us} (the largest unit
     * that holds it whole), rather than Duration's {@code PT1M}. Negative shows as {@code 0s}, which
     * is how it is taken.
     */
    public static String text(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            return "0s";
        }
        if (timeout.getNano() == 0) {
            return timeout.getSeconds() + "s";
        }
        long nanos = nanos(timeout);
        if (nanos % 1_000_000 == 0) {
            return nanos / 1_000_000 + "ms";
        }
        return nanos % 1_000 == 0 ? nanos / 1_000 + "us" : nanos + "ns";
    }

    /** Nanoseconds left until {@code deadline} (from {@link #deadline}): 0 once it has passed. */
    public static long left(long deadline) {
        if (deadline == NO_DEADLINE) {
            return Long.MAX_VALUE;
        }
        long now = System.nanoTime();
        return deadline - now <= 0 ? 0 : deadline - now;
    }

    /**
     * What a call made with {@link #NO_DEADLINE} throws if it timed out all the same: a bug, not a
     * condition a caller can handle, so unchecked ({@code throw Timeouts.timedOutWithoutDeadline(e)}).
     */
    static IllegalStateException timedOutWithoutDeadline(TimeoutException e) {
        return new IllegalStateException("no deadline, yet timed out", e);
    }
}
