/*
 * The floor for the PTY echo benchmark: one byte written to the master side of a fresh PTY whose
 * slave is `cat`'s terminal, and its echo read back, with no agent in between. Prints one line:
 *   runs=N p50_us=X p99_us=Y mean_us=Z
 * Usage: pty-echo-floor [runs] [warmup]   (defaults 1000, 50)
 */
#include "pty-floor.h"

#include <signal.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    int runs, warmup, master;
    pid_t cat;
    if (parse_echo_args(argc, argv, "pty-echo-floor", &runs, &warmup) != 0) return 2;
    if (cat_on_new_pty(&master, &cat) != 0) return 1;
    int rc = time_echoes(master, warmup, runs);
    kill(cat, SIGKILL);
    waitpid(cat, NULL, 0);
    return rc;
}
