/*
 * The floor of any agent for the PTY echo benchmark: the same echo as pty-echo-floor, but through a
 * second process that relays between a unix socket and the PTY's master, as an agent does, in C,
 * with no framing, no JVM and nothing else to serve. The client (this process) writes one byte to
 * its end of a socketpair and blocks reading its echo there; the relay (a child) waits in poll(2)
 * on its end and on the master, and copies whatever comes in to the other side. Prints one line:
 *   runs=N p50_us=X p99_us=Y mean_us=Z
 * Usage: pty-relay-floor [runs] [warmup]   (defaults 1000, 50)
 *
 * What it shows: a round trip here has the local PTY's work plus the wake-ups a separate agent
 * cannot avoid (the relay for the byte, the relay again when the echo is not yet there, the client
 * for the echo), so the agent's echo is compared with this as well as with the local PTY.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floor-timing.h"

extern char **environ;

/* Copies what one readable fd has to the other; 0 at EOF or on an error (the relay then ends). */
static int pass_on(int from, int to) {
    char buf[256];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
    return write(to, buf, (size_t)n) == n;
}

/* The relay: runs until the client's end of the socket closes. */
static void relay(int sock, int master) {
    struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = master, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(1);
        }
        if (fds[0].revents && !pass_on(sock, master)) _exit(0);
        if (fds[1].revents && !pass_on(master, sock)) _exit(1);
    }
}

/* Writes one byte and reads its echo through the relay. No newline is ever sent, so cat never
 * writes: every byte read is the line discipline's echo (4095 bytes fit its line, hence the limit). */
static int echo_once(int sock) {
    char c = 'x', got;
    if (write(sock, &c, 1) != 1) { perror("write"); return -1; }
    if (read(sock, &got, 1) != 1) { perror("read"); return -1; }
    if (got != c) { fprintf(stderr, "echo was 0x%02x, not 'x'\n", (unsigned char)got); return -1; }
    return 0;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 1000;
    int warmup = argc > 2 ? atoi(argv[2]) : 50;
    if (runs < 1 || warmup < 0 || runs + warmup > 4000) {
        fprintf(stderr, "usage: pty-relay-floor [runs>=1] [warmup>=0] (runs+warmup <= 4000)\n");
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
    pid_t cat;
    int rc = posix_spawnp(&cat, "cat", &fa, &attr, cat_argv, environ);
    if (rc != 0) { fprintf(stderr, "posix_spawnp cat: %s\n", strerror(rc)); return 1; }

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) { perror("socketpair"); return 1; }
    pid_t relay_pid = fork();
    if (relay_pid < 0) { perror("fork"); return 1; }
    if (relay_pid == 0) {
        close(sv[0]);
        relay(sv[1], master);
    }
    close(sv[1]);
    close(master);

    for (int i = 0; i < warmup; i++) {
        if (echo_once(sv[0]) != 0) return 1;
    }
    long long *samples = malloc(sizeof(long long) * runs);
    long long total = 0;
    for (int i = 0; i < runs; i++) {
        long long t0 = now_ns();
        if (echo_once(sv[0]) != 0) return 1;
        samples[i] = now_ns() - t0;
        total += samples[i];
    }
    close(sv[0]);
    waitpid(relay_pid, NULL, 0);
    kill(cat, SIGKILL);
    waitpid(cat, NULL, 0);
    print_report(samples, runs, total);
    free(samples);
    return 0;
}
