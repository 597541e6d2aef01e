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

    /** The median of a few per-round figures (rates, ratios): the upper one of an even count. */
    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
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

    /** The {@code n} largest samples with their places in the order they were added ("#index: ms"), for a progress line. */
    String slowest(int n) {
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(nanos[b], nanos[a]));
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.min(n, count); i++) {
            out.append(i == 0 ? "" : ", ").append('#').append(order[i]).append(": ")
                    .append(String.format("%.1f ms", nanos[order[i]] / 1e6));
        }
        return out + " of " + count;
    }

    double mean() {
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += nanos[i];
        }
        return (double) total / count;
    }
}
