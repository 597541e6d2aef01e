/*
 * libagentd-shim's interface: one call that starts one command (agentd-shim.c says how and why).
 * Mirrored in Java by io.agentd.agent.spawn.ShimSpec (the layouts: every spec field is 8 bytes) and
 * ShimStage (the stages, in this order); agentd_spawn_spec_size/agentd_spawn_result_size let the
 * agent refuse a library built from another version of this file.
 */
#ifndef AGENTD_SHIM_H
#define AGENTD_SHIM_H

#include <stdint.h>

struct agentd_rlimit {
    int64_t resource;   /* RLIMIT_NOFILE, ... */
    uint64_t soft;      /* RLIM_INFINITY = all ones */
    uint64_t hard;
};

struct agentd_spawn_spec {
    const char *file;                     /* the program: with a '/' exec'd as is, else searched */
    char *const *argv;                    /* NULL-terminated */
    char *const *envp;                    /* NULL-terminated, the target's complete environment */
    const char *search_path;              /* PATH for a file without '/' */
    const char *cwd;                      /* NULL: the agent's */
    int64_t stdio[3];                     /* the child's 0, 1, 2 (a PTY: the slave three times); made
                                             blocking in the child */
    int64_t tty;                          /* 1: stdio[0] is a PTY slave, to be the controlling tty */
    const struct agentd_rlimit *rlimits;
    int64_t nrlimits;
    int64_t set_user;                     /* 0: keep the agent's credentials */
    int64_t uid;
    int64_t gid;
    const uint32_t *groups;               /* supplementary groups (gid_t) */
    int64_t ngroups;
    int64_t profile;                      /* enum agentd_profile */
    int64_t join_cgroup;                  /* 1: the child goes into the session's cgroup, cgroup_fd; 0
                                             (a zeroed spec): it stays in the agent's cgroup */
    int64_t cgroup_fd;                    /* the session cgroup's directory, open read-only */
    int64_t keep_below;                   /* 0 (a zeroed spec): the child gets a copy of the agent's fd
                                             table. N > 0: every fd the child needs (stdio,
                                             cgroup_fd) is below N, and the child shares the
                                             agent's table until it takes a copy of the fds below N
                                             only (rule 8 in agentd-shim.c) */
    int64_t last_cap;                     /* the kernel's last capability as the agent read it, once
                                             (/proc/sys/kernel/cap_last_cap; without /proc the highest
                                             one it holds, a lower bound), never taken below
                                             CAP_AUDIT_READ (0, a zeroed spec: 37). strict takes an
                                             EINVAL from PR_CAPBSET_READ at or below it for a refusal,
                                             not for the end of the bounding set */
    const char *oom_score_adj;            /* NULL (a zeroed spec): the child keeps the agent's
                                             oom_score_adj. Else the value, in decimal, the agent was
                                             started with, before it lowered its own at its start:
                                             written to the child's /proc/self/oom_score_adj while it
                                             is still privileged, so the target neither shares the
                                             agent's protection from the OOM killer nor can lower
                                             itself back to it (agentd-shim.c, restore_oom_score_adj) */
};

/* Security profiles, from the weakest; agentd-shim.c's profile step says what each one does.
 * Names in io.agentd.agent.spawn.Profile. */
enum agentd_profile {
    PROFILE_DEFAULT,
    PROFILE_RESTRICTED,
    PROFILE_STRICT,
};

/* Stages: where the child is, or where the spawn failed. Names in io.agentd.agent.spawn.ShimStage. */
enum agentd_stage {
    STAGE_NONE,
    STAGE_MMAP,             /* parent: the child's stack */
    STAGE_CLONE,            /* parent */
    STAGE_RT_SIGACTION,
    STAGE_SIGPROCMASK,
    STAGE_CGROUP,           /* joining the session's cgroup */
    STAGE_SETSID,
    STAGE_TIOCSCTTY,
    STAGE_DUP,
    STAGE_CLOSE_RANGE,
    STAGE_OOM_SCORE_ADJ,    /* spec->oom_score_adj written to /proc/self/oom_score_adj */
    STAGE_SETRLIMIT,        /* result->index: which rlimit */
    STAGE_UNSHARE_MOUNTS,   /* a confined profile's root target: a mount namespace of its own */
    STAGE_MOUNT_READ_ONLY,  /* ... with the kernel's tunables read-only in it */
    STAGE_NO_NEW_PRIVS,
    STAGE_AMBIENT_CLEAR,
    STAGE_CAPBSET_DROP,
    STAGE_CAPGET,
    STAGE_CAPSET,
    STAGE_SECUREBITS,       /* strict only */
    STAGE_SETGROUPS,
    STAGE_SETGID,
    STAGE_SETUID,
    STAGE_CHDIR,
    STAGE_EXECVE,
    STAGE_DIED,             /* parent: the child died before its exec without a report */
};

struct agentd_spawn_result {
    int32_t pid;
    int32_t pidfd;          /* -1 on kernels without pidfds */
    int32_t stage;          /* enum agentd_stage */
    int32_t err;            /* errno of the failed step; 0 on success */
    int32_t index;          /* STAGE_SETRLIMIT: the failed rlimit's index in spec->rlimits */
    int32_t child;          /* the child's pid while it makes its way to the exec: written by the
                               child first, cleared by the parent as soon as clone returns, before
                               it reaps anything; while set, another thread may signal that pid
                               (it is the child, not yet reaped: rule 9 in agentd-shim.c) */
};

/* Starts spec->file with one exec. Returns 0 with result->pid and result->pidfd once the target has
 * been exec'd, or -1 with result->stage, result->err (and result->index) when it could not be; the
 * child, if one was made, has then been reaped. Thread-safe; the calling thread is suspended until
 * the child has exec'd or exited. */
int agentd_spawn(const struct agentd_spawn_spec *spec, struct agentd_spawn_result *result);

long agentd_spawn_spec_size(void);
long agentd_spawn_result_size(void);

#endif
