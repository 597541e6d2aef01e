/*
 * The floor for the exec round trip benchmark: the cheapest way this machine can start /bin/true
 * and learn that it exited (posix_spawn + waitpid, no agent, no protocol). Prints one line:
 *   runs=N p50_us=X p99_us=Y mean_us=Z
 * Usage: spawn-floor [runs] [warmup] [--shim LIBRARY]   (defaults 2000, 100)
 * With --shim it starts /bin/true through agentd's libagentd-shim.so instead (agentd_spawn, the call
 * the agent makes, with the same environment and the PATH search the agent gives it), which shows
 * what the shim's child-side steps cost before any Java runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../agentd-shim.h"
#include "floor-timing.h"

extern char **environ;

static char *true_argv[] = {"/bin/true", NULL};
static char *shim_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                           "HOME=/root", NULL};

typedef int (*spawn_fn)(const struct agentd_spawn_spec *, struct agentd_spawn_result *);
static spawn_fn shim_spawn;

static int start(pid_t *pid) {
    if (!shim_spawn) {
        int rc = posix_spawn(pid, true_argv[0], NULL, NULL, true_argv, environ);
        if (rc != 0) fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
        return rc;
    }
    struct agentd_spawn_spec spec = {
        .file = "true",  /* searched, as the agent's requests are */
        .argv = true_argv,
        .envp = shim_env,
        .search_path = shim_env[0] + strlen("PATH="),
        .stdio = {0, 1, 2},
    };
    struct agentd_spawn_result result;
    if (shim_spawn(&spec, &result) != 0) {
        fprintf(stderr, "agentd_spawn: stage %d: %s\n", result.stage, strerror(result.err));
        return -1;
    }
    *pid = result.pid;
    if (result.pidfd >= 0) close(result.pidfd);
    return 0;
}

static int spawn_once(void) {
    pid_t pid;
    if (start(&pid) != 0) return -1;
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
    if (runs < 1 || warmup < 0 || (argc > 3 && (argc != 5 || strcmp(argv[3], "--shim") != 0))) {
        fprintf(stderr, "usage: spawn-floor [runs>=1] [warmup>=0] [--shim LIBRARY]\n");
        return 2;
    }
    if (argc == 5) {
        void *lib = dlopen(argv[4], RTLD_NOW);
        shim_spawn = lib ? (spawn_fn)dlsym(lib, "agentd_spawn") : NULL;
        if (!shim_spawn) {
            fprintf(stderr, "%s: %s\n", argv[4], dlerror());
            return 1;
        }
    }
    for (int i = 0; i < warmup; i++) {
        if (spawn_once() != 0) return 1;
    }
    long long *samples = malloc(sizeof(long long) * runs);
    if (!samples) return 1;
    long long total = 0;
    for (int i = 0; i < runs; i++) {
        long long t0 = now_ns();
        if (spawn_once() != 0) return 1;
        samples[i] = now_ns() - t0;
        total += samples[i];
    }
    print_report(samples, runs, total);
    free(samples);
    return 0;
}
