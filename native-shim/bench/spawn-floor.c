/*
 * The floor for the exec round trip benchmark: the cheapest way this machine can start /bin/true
 * and learn that it exited (posix_spawn + waitpid, no agent, no protocol). Prints one line:
 *   runs=N p50_us=X p99_us=Y mean_us=Z
 * Usage: spawn-floor [runs] [warmup] [PROGRAM [ARG]...]   (defaults 2000, 100, /bin/true)
 * With a PROGRAM it times that instead, e.g. agentd's exec helper in front of /bin/true, which shows
 * what the helper's extra exec costs before any Java runs. PROGRAM gets what the agent gives the
 * helper: the write end of a close-on-exec report pipe on fd 3, read to EOF before the waitpid.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "floor-timing.h"

extern char **environ;

static char *default_argv[] = {"/bin/true", NULL};

static int spawn_once(char **argv, int with_report_pipe) {
    pid_t pid;
    int rc;
    if (!with_report_pipe) {
        rc = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
    } else {
        int report[2];
        if (pipe2(report, O_CLOEXEC) != 0) {
            perror("pipe2");
            return -1;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, report[1], 3);
        rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(report[1]);
        char buf[160];
        while (rc == 0 && read(report[0], buf, sizeof buf) > 0) {
        }
        close(report[0]);
    }
    if (rc != 0) {
        fprintf(stderr, "posix_spawn %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        perror("waitpid");
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s did not exit 0 (status %d)\n", argv[0], status);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 2000;
    int warmup = argc > 2 ? atoi(argv[2]) : 100;
    if (runs < 1 || warmup < 0) {
        fprintf(stderr, "usage: spawn-floor [runs>=1] [warmup>=0] [PROGRAM [ARG]...]\n");
        return 2;
    }
    char **target = argc > 3 ? argv + 3 : default_argv;
    int with_report_pipe = argc > 3;
    for (int i = 0; i < warmup; i++) {
        if (spawn_once(target, with_report_pipe) != 0) return 1;
    }
    long long *samples = malloc(sizeof(long long) * runs);
    if (!samples) return 1;
    long long total = 0;
    for (int i = 0; i < runs; i++) {
        long long t0 = now_ns();
        if (spawn_once(target, with_report_pipe) != 0) return 1;
        samples[i] = now_ns() - t0;
        total += samples[i];
    }
    print_report(samples, runs, total);
    free(samples);
    return 0;
}
