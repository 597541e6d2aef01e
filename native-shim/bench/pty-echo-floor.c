/*
 * The floor for the PTY echo benchmark: one byte written to the master side of a fresh PTY whose
 * slave is `cat`'s terminal, and its echo read back, with no agent in between. Prints one line:
 *   runs=N p50_us=X p99_us=Y mean_us=Z
 * Usage: pty-echo-floor [runs] [warmup]   (defaults 1000, 50)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor-timing.h"

extern char **environ;

/* Writes one byte and reads its echo. No newline is ever sent, so cat never writes: every byte read
 * is the line discipline's echo. The canonical line buffer holds 4095 bytes, hence the run limit. */
static int echo_once(int master) {
    char c = 'x', got;
    if (write(master, &c, 1) != 1) { perror("write"); return -1; }
    if (read(master, &got, 1) != 1) { perror("read"); return -1; }
    if (got != c) { fprintf(stderr, "echo was 0x%02x, not 'x'\n", (unsigned char)got); return -1; }
    return 0;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 1000;
    int warmup = argc > 2 ? atoi(argv[2]) : 50;
    if (runs < 1 || warmup < 0 || runs + warmup > 4000) {
        fprintf(stderr, "usage: pty-echo-floor [runs>=1] [warmup>=0] (runs+warmup <= 4000)\n");
        return 2;
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) { perror("posix_openpt"); return 1; }
    const char *slave = ptsname(master);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, slave, O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&fa, 0, 1);
    posix_spawn_file_actions_adddup2(&fa, 0, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    char *cat_argv[] = {"cat", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "cat", &fa, &attr, cat_argv, environ);
    if (rc != 0) { fprintf(stderr, "posix_spawnp cat: %s\n", strerror(rc)); return 1; }

    for (int i = 0; i < warmup; i++) {
        if (echo_once(master) != 0) return 1;
    }
    long long *samples = malloc(sizeof(long long) * runs);
    long long total = 0;
    for (int i = 0; i < runs; i++) {
        long long t0 = now_ns();
        if (echo_once(master) != 0) return 1;
        samples[i] = now_ns() - t0;
        total += samples[i];
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    print_report(samples, runs, total);
    free(samples);
    return 0;
}
