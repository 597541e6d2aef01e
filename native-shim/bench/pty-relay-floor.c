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
#include "pty-floor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

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

int main(int argc, char **argv) {
    int runs, warmup, master;
    pid_t cat;
    if (parse_echo_args(argc, argv, "pty-relay-floor", &runs, &warmup) != 0) return 2;
    if (cat_on_new_pty(&master, &cat) != 0) return 1;

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

    int rc = time_echoes(sv[0], warmup, runs);
    close(sv[0]);
    waitpid(relay_pid, NULL, 0);
    kill(cat, SIGKILL);
    waitpid(cat, NULL, 0);
    return rc;
}
