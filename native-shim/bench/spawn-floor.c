/*
 * The floor for the exec round trip benchmark: the cheapest way this machine can start /bin/true
 * and learn that it exited (posix_spawn + waitpid, no agent, no protocol). Prints one line:
 *   runs=N p50_us=X p99_us=Y mean_us=Z
 * Usage: spawn-floor [runs] [warmup]   (defaults 2000, 100)
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, the same definition the Java harness uses. */
static long long percentile(const long long *sorted, int n, double p) {
    int rank = (int)((p / 100.0) * n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

static int spawn_true_once(void) {
    char *argv[] = {"/bin/true", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
        return -1;
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        perror("waitpid");
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "/bin/true did not exit 0 (status %d)\n", status);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 2000;
    int warmup = argc > 2 ? atoi(argv[2]) : 100;
    if (runs < 1 || warmup < 0) {
        fprintf(stderr, "usage: spawn-floor [runs>=1] [warmup>=0]\n");
        return 2;
    }
    for (int i = 0; i < warmup; i++) {
        if (spawn_true_once() != 0) return 1;
    }
    long long *samples = malloc(sizeof(long long) * runs);
    if (!samples) return 1;
    long long total = 0;
    for (int i = 0; i < runs; i++) {
        long long t0 = now_ns();
        if (spawn_true_once() != 0) return 1;
        samples[i] = now_ns() - t0;
        total += samples[i];
    }
    qsort(samples, runs, sizeof(long long), cmp_ll);
    printf("runs=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f\n", runs,
           percentile(samples, runs, 50) / 1000.0, percentile(samples, runs, 99) / 1000.0,
           (double)total / runs / 1000.0);
    free(samples);
    return 0;
}
