/*
 * Timing shared by the C floor programs of the benchmarks: a monotonic clock, and the one-line
 * report the Java harness parses ("runs=N p50_us=X p99_us=Y mean_us=Z"), with nearest-rank
 * percentiles, the same definition the harness uses for the agent's figures.
 */
#ifndef FLOOR_TIMING_H
#define FLOOR_TIMING_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static long long percentile(const long long *sorted, int n, double p) {
    int rank = (int)((p / 100.0) * n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

/* Sorts the samples (ns) and prints the report line; total is their sum. */
static void print_report(long long *samples, int runs, long long total) {
    qsort(samples, runs, sizeof(long long), cmp_ll);
    printf("runs=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f\n", runs,
           percentile(samples, runs, 50) / 1000.0, percentile(samples, runs, 99) / 1000.0,
           (double)total / runs / 1000.0);
}

#endif
