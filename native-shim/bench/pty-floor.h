/*
 * What the two PTY echo floors share (pty-echo-floor.c, pty-relay-floor.c): their arguments, `cat`
 * on a fresh PTY, one echo, and the timed rounds with their report (floor-timing.h). They differ
 * only in the fd the echo goes through: the PTY's master itself, or a socket to a relay of it.
 */
#ifndef PTY_FLOOR_H
#define PTY_FLOOR_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor-timing.h"

extern char **environ;

/* Reads [runs] [warmup] (defaults 1000, 50); 0, or 2 after a usage line naming the program. The
 * canonical line buffer holds 4095 bytes and no newline is ever sent, hence the limit. */
static int parse_echo_args(int argc, char **argv, const char *program, int *runs, int *warmup) {
    *runs = argc > 1 ? atoi(argv[1]) : 1000;
    *warmup = argc > 2 ? atoi(argv[2]) : 50;
    if (*runs < 1 || *warmup < 0 || *runs + *warmup > 4000) {
        fprintf(stderr, "usage: %s [runs>=1] [warmup>=0] (runs+warmup <= 4000)\n", program);
        return 2;
    }
    return 0;
}

/* Opens a PTY and starts `cat` in a session of its own with the slave as its terminal; 0, or 1 after
 * saying why. */
static int cat_on_new_pty(int *master, pid_t *cat) {
    *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*master < 0 || grantpt(*master) != 0 || unlockpt(*master) != 0) { perror("posix_openpt"); return 1; }
    const char *slave = ptsname(*master);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, slave, O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&fa, 0, 1);
    posix_spawn_file_actions_adddup2(&fa, 0, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    char *cat_argv[] = {"cat", NULL};
    int rc = posix_spawnp(cat, "cat", &fa, &attr, cat_argv, environ);
    if (rc != 0) { fprintf(stderr, "posix_spawnp cat: %s\n", strerror(rc)); return 1; }
    return 0;
}

/* Writes one byte to fd and reads its echo there: every byte read is the line discipline's echo,
 * since cat never gets a whole line to write. */
static int echo_once(int fd) {
    char c = 'x', got;
    if (write(fd, &c, 1) != 1) { perror("write"); return -1; }
    if (read(fd, &got, 1) != 1) { perror("read"); return -1; }
    if (got != c) { fprintf(stderr, "echo was 0x%02x, not 'x'\n", (unsigned char)got); return -1; }
    return 0;
}

/* warmup echoes, then runs timed ones through fd, and the report line; 0, or 1 when an echo failed. */
static int time_echoes(int fd, int warmup, int runs) {
    for (int i = 0; i < warmup; i++) {
        if (echo_once(fd) != 0) return 1;
    }
    long long *samples = malloc(sizeof(long long) * runs);
    long long total = 0;
    for (int i = 0; i < runs; i++) {
        long long t0 = now_ns();
        if (echo_once(fd) != 0) return 1;
        samples[i] = now_ns() - t0;
        total += samples[i];
    }
    print_report(samples, runs, total);
    free(samples);
    return 0;
}

#endif
