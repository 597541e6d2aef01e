package io.agentd.bench;

import java.util.Arrays;

/** Durations in nanoseconds (or any other long figures), summarised by nearest-rank percentiles (the C floors use the same rule). */
final class Samples {
    private long[] nanos;
    private int count;

    Samples(int expected) {
        nanos = new long[Math.max(16, expected)];
    }

    void add(long durationNanos) {
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, count * 2);
        }
        nanos[count++] = durationNanos;
    }

    int count() {
        return count;
    }

    /** Every sample of {@code other} added to these. */
    void addAll(Samples other) {
        for (int i = 0; i < other.count; i++) {
            add(other.nanos[i]);
        }
    }

    /** The p-th percentile (0 < p <= 100) in nanoseconds, nearest rank. */
    long percentile(double p) {
        if (count == 0) {
            throw new IllegalStateException("no samples");
        }
        long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * count);
        return sorted[Math.min(count, Math.max(1, rank)) - 1];
    }

    double mean() {
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += nanos[i];
        }
        return (double) total / count;
    }
}
