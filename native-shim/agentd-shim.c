/*
 * libagentd-shim: one agentd spawn, in one call, with one exec (DESIGN.md, decisions 1 and 2).
 *
 *   int agentd_spawn(const struct agentd_spawn_spec *spec, struct agentd_spawn_result *result);
 *
 * (agentd-shim.h has the structs and the stages.) The agent (Java, through the JNI method in agentd-jni.c) hands over a fully prepared spec: argv, envp (HOME included),
 * the program and the PATH to search it in, the fds for the child's 0/1/2 (pipe ends or the PTY
 * slave), rlimits, the resolved uid/gid/supplementary groups, the cwd and the profile. The call
 * clones a child with CLONE_VM | CLONE_VFORK on a stack of its own (clone3, or clone: rule 7), the way glibc's posix_spawn
 * (sysdeps/unix/sysv/linux/spawni.c) and the JDK's VFORK launch (childproc.c) do: the calling thread
 * is suspended until the child has exec'd the target or given up. When the call returns, the
 * outcome is known: 0 with result->pid and result->pidfd, or -1 with result->stage and result->err
 * (the child, if there was one, has been reaped).
 *
 * Rules, followed to the letter below:
 *  1. Everything that allocates, takes a lock or reads a file happens before the clone: in the agent
 *     (user and group resolution from /etc/passwd and /etc/group, argv, envp, HOME, PATH, the
 *     kernel's last capability from /proc/sys/kernel/cap_last_cap and the oom_score_adj it was
 *     started with, each read once at its start) or in
 *     agentd_spawn's parent half (the child's stack, the scratch buffer for the PATH search).
 *  2. The child shares the agent's memory and is one of its threads' vfork twin: it makes raw system
 *     calls only, through syscall(2), plus string functions (strlen, strchr, memcpy) on memory
 *     prepared for it. Never glibc's
 *     setuid/setgid/setgroups: in a multi-threaded process they broadcast the change to every thread
 *     of the process (the setxid signal), which here would change the JVM's own credentials. The
 *     library is linked with -z now, so no call in the child goes through the lazy PLT resolver.
 *  3. The child runs on its own mmap'd stack, never on the calling thread's (one such mapping is kept
 *     for the next spawn: see take_memory).
 *  4. The parent blocks every signal (glibc's internal ones too: raw rt_sigprocmask) around the
 *     clone, so no handler of the JVM can run in the child. The child does not share the handler
 *     table (no CLONE_SIGHAND) and resets every handler to SIG_DFL with raw rt_sigaction before it
 *     unblocks.
 *  5. The child reports through memory shared with the parent: before each step it writes the
 *     step's stage into result->stage; on failure it writes the errno into result->err and exits 127
 *     at once. The parent reads both after the clone returns (vfork semantics: after the exec or the
 *     exit). A stage short of the exec with no errno means the child died on the way (a signal from
 *     outside): that is a failure too, never a start. (A child killed inside execve itself cannot be
 *     told from one killed just after it: it counts as started.)
 *  6. fd hygiene: 0/1/2 are dup'd into place, then close_range closes everything above 2, whatever
 *     its close-on-exec flag. Where there is no close_range (ENOSYS: kernels before 5.9) or a seccomp
 *     filter refuses it (EPERM: container profiles older than the call; the kernel itself never
 *     answers EPERM), the child closes each fd /proc/self/fd lists above 2, as glibc's closefrom
 *     fallback does (getdents64 into a buffer on its stack); without /proc, every number up to the
 *     soft RLIMIT_NOFILE (at most 2^20).
 *  7. The child is in its session's cgroup before it does anything that could fork, allocate much or
 *     run the target: every process the target makes is then born inside the cgroup, and the agent
 *     can kill them all with cgroup.kill. It is created there: clone3 with CLONE_INTO_CGROUP (Linux
 *     5.7), given the cgroup directory's fd the agent opened. Moving a process in afterwards (writing
 *     to cgroup.procs) takes the cgroup core's rwsem for writing, which waits for an RCU grace
 *     period whenever no other move came just before: milliseconds, on every command run alone;
 *     creating it there waits for none. Where clone3 cannot (a kernel without it, or without
 *     CLONE_INTO_CGROUP, or not x86-64, where the trampoline below is written), the spawn is made
 *     again the old way and the child joins by writing "0" (itself) to the cgroup's cgroup.procs,
 *     opened relative to that fd; a cgroup that refuses the child then fails at that step, with its
 *     errno. (The fd is closed with the rest by close_range.) A clone3 the cgroup refuses (EAGAIN at
 *     its pids.max) fails the spawn at that step too, never the old way: a move in through
 *     cgroup.procs is not checked against pids.max, and would run what the limit forbids.
 *  8. An agent holding many fds (10,000 sessions hold 40,000) would pay for all of them in every
 *     spawn: the clone copies its fd table, and the exec or close_range closes each copy one by one.
 *     So when spec->keep_below is set, the agent has put every fd the child needs below it, and the
 *     child is cloned with CLONE_FILES: it shares the agent's table, touches no fd, and its first
 *     fd step, right after the signals, is close_range(keep_below, ~0U, CLOSE_RANGE_UNSHARE), which
 *     gives it a table of its own holding only the fds below keep_below (Linux 5.9). Nothing above is
 *     copied or closed. Until that call returns, the child must not touch an fd: the table is the
 *     agent's. (Never make that call in the agent: it would give the calling thread a table of its
 *     own, apart from the JVM's other threads.)
 *  9. From its switch to the target user to its exec, the child is a process of that user, which
 *     any process of the same uid may signal: a SIGSTOP there would hold the parent, suspended in
 *     clone until the exec, and every spawn after it (the agent's one spawner thread), for ever. So the child publishes its pid
 *     (result->child) before anything else, and the parent clears it the moment clone returns,
 *     before any waitpid: while it is set, the pid is the child's, and the agent kills a child it
 *     finds stopped there, or still there 5 s after the clone (its chdir or PATH search waiting on a
 *     mount that does not answer: a hung FUSE, virtiofs or NFS; io.agentd.agent.spawn.SpawnGuard).
 *     The spawn then ends as STAGE_DIED, or as started when the child was at STAGE_EXECVE (its PATH
 *     search; rule 5).
 *  errno: the child has no TLS of its own (no CLONE_SETTLS), so syscall(2) sets the suspended
 *  parent thread's errno; the child reads it right after each call, the parent never relies on it.
 *
 * The child's steps, in this order (the order of the code below):
 *   its pid published (rule 9); signals reset and unblocked; a table of its own of the fds below
 *   keep_below (rule 8, when set);
 *   the session's cgroup joined (join_cgroup; unless born there, rule 7); setsid and the
 *   controlling terminal (PTY); fds in place and the rest closed; the oom_score_adj the agent was
 *   started with, when it lowered its own (while still privileged: restore_oom_score_adj); rlimits
 *   (while still privileged, so hard limits can be raised);
 *   for a root target of a confined profile, a mount namespace of its own with the kernel's tunables
 *   read-only (while it still has CAP_SYS_ADMIN); the profile (below);
 *   setgroups, setresgid, setresuid (and the shared memory made non-dumpable again); chdir as the target user (so a directory the user cannot reach
 *   fails); execve, with the PATH search of execvpe but without its /bin/sh fallback for ENOEXEC.
 *
 * The profiles (docs/SECURITY.md says what each one stops and what it does not):
 *   default     nothing: the target has what its user has (root: every capability).
 *   restricted  the reference's meaning: no_new_privs, no ambient capabilities, CAP_SYS_ADMIN out of
 *               every set including the bounding set. A root target keeps every other capability.
 *               Both confined profiles give a root target /proc/sys, /sys and the like read-only
 *               in a mount namespace of its own (read_only_kernel_files).
 *   strict      no_new_privs; the ambient, bounding and inheritable sets emptied; securebits that make
 *               uid 0 special no more, locked (SECBIT_NOROOT: exec as uid 0 grants nothing;
 *               SECBIT_NO_CAP_AMBIENT_RAISE; setuid fixup and keep-caps locked at their defaults, so
 *               the switch to another user still clears its capabilities). The permitted and effective
 *               sets are left to the user switch and chdir that follow, which need them; the execve
 *               then computes both from the empty sets: zero. So the target, root or not, starts
 *               with no capability in any set and can gain none, through setuid or file capabilities.
 *               Needs CAP_SETPCAP in the agent (EPERM otherwise).
 *   Both confined profiles fail closed: a step of theirs that fails, reading the bounding set
 *   included (strict: an EINVAL for a capability the kernel knows, spec->last_cap or below), fails
 *   the spawn at that stage with its errno; the target never starts with less taken.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentd-shim.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define EXPORT __attribute__((visibility("default")))
#define FAILED_EXIT 127
#define KERNEL_SIGSET_BYTES 8    /* the kernel's sigset_t: 64 signals */
#define CHILD_STACK_BYTES (64 * 1024)
#define CACHED_SCRATCH_BYTES (16 * 1024)  /* a search path and file name longer than this get a mapping of their own */

EXPORT long agentd_spawn_spec_size(void) { return sizeof(struct agentd_spawn_spec); }
EXPORT long agentd_spawn_result_size(void) { return sizeof(struct agentd_spawn_result); }

/* What the child works with, all of it prepared by the parent. */
struct child {
    const struct agentd_spawn_spec *spec;
    volatile struct agentd_spawn_result *result;  /* shared with the parent */
    char *candidate;                              /* scratch for the PATH search */
    long max_fd;                                  /* close_range fallback bound */
    int born_in_cgroup;                           /* clone3 put it in spec->cgroup_fd (rule 7) */
};

/* ---- the child: reporting ------------------------------------------------------------------- */

static void at_stage(struct child *c, enum agentd_stage stage)
{
    c->result->stage = stage;
}

static void fail(struct child *c, int err) __attribute__((noreturn));

static void fail(struct child *c, int err)
{
    c->result->err = err ? err : ECHILD;  /* a failed call without errno would be a kernel bug */
    for (;;)
        syscall(SYS_exit_group, FAILED_EXIT);
}

/* syscall(2) or fail at the current stage. */
#define STEP(c, call) do { if ((call) == -1) fail((c), errno); } while (0)

/* ---- the child: steps, in order ------------------------------------------------------------- */

/* Every handler to SIG_DFL (an all-zero kernel sigaction: SIG_DFL, no flags, empty mask), then the
 * mask the parent blocked everything with is cleared: the target starts with a clean signal state. */
static void reset_signals(struct child *c)
{
    at_stage(c, STAGE_RT_SIGACTION);
    unsigned long zero_kernel_sigaction[4] = {0};
    for (int sig = 1; sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        STEP(c, syscall(SYS_rt_sigaction, sig, zero_kernel_sigaction, NULL, KERNEL_SIGSET_BYTES));
    }
    at_stage(c, STAGE_SIGPROCMASK);
    uint64_t none = 0;
    STEP(c, syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, KERNEL_SIGSET_BYTES));
}

/* Rule 8: off the agent's fd table, with a copy of the fds below keep_below only. */
static void unshare_fds(struct child *c)
{
    at_stage(c, STAGE_CLOSE_RANGE);
    STEP(c, syscall(SYS_close_range, (unsigned)c->spec->keep_below, ~0U, CLOSE_RANGE_UNSHARE));
}

/* Into the session's cgroup when clone3 could not create it there (rule 7): "0" written to the
 * cgroup's cgroup.procs moves the writer. */
static void join_cgroup(struct child *c)
{
    at_stage(c, STAGE_CGROUP);
    long procs = syscall(SYS_openat, (int)c->spec->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    STEP(c, procs);
    STEP(c, syscall(SYS_write, (int)procs, "0", 1));
    STEP(c, syscall(SYS_close, (int)procs));
}

/* Its own session and process group; a PTY slave becomes its controlling terminal. */
static void new_session(struct child *c)
{
    at_stage(c, STAGE_SETSID);
    STEP(c, syscall(SYS_setsid));
    if (c->spec->tty) {
        at_stage(c, STAGE_TIOCSCTTY);
        STEP(c, syscall(SYS_ioctl, (int)c->spec->stdio[0], TIOCSCTTY, 0));
    }
}

static void close_each_fd_above_2(struct child *c);

/* 0/1/2 from spec->stdio, blocking, everything else closed. A source below 3 is first moved above 2,
 * so that no dup overwrites a source still to be duplicated (the agent may run with 0..2 closed).
 * Blocking: the agent makes its pipes non-blocking at both ends in one call; a program expects its
 * standard fds to block. */
static void place_fds(struct child *c)
{
    at_stage(c, STAGE_DUP);
    int from[3];
    for (int i = 0; i < 3; i++) {
        from[i] = (int)c->spec->stdio[i];
        if (from[i] < 3) {
            long moved = syscall(SYS_fcntl, from[i], F_DUPFD_CLOEXEC, 3);
            STEP(c, moved);
            from[i] = (int)moved;
        }
    }
    for (int i = 0; i < 3; i++)
        STEP(c, syscall(SYS_dup3, from[i], i, 0));  /* the copy on i is not close-on-exec */
    for (int i = 0; i < 3; i++) {
        long flags = syscall(SYS_fcntl, i, F_GETFL);
        STEP(c, flags);
        if (flags & O_NONBLOCK)
            STEP(c, syscall(SYS_fcntl, i, F_SETFL, flags & ~O_NONBLOCK));
    }

    at_stage(c, STAGE_CLOSE_RANGE);
    if (syscall(SYS_close_range, 3, ~0U, 0) == 0)
        return;
    if (errno != ENOSYS && errno != EPERM)
        fail(c, errno);
    close_each_fd_above_2(c);
}

/* Rule 6 without close_range: the fds /proc/self/fd lists, read again from the start after each
 * buffer that closed any (closing changes the listing); every number up to max_fd when /proc cannot
 * be read. Errors of close are ignored: the fd is gone either way. */
static void close_each_fd_above_2(struct child *c)
{
    long dir = syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        char listing[1024] __attribute__((aligned(8)));
        long n;
        while ((n = syscall(SYS_getdents64, (int)dir, listing, sizeof listing)) > 0) {
            int closed_any = 0;
            for (long at = 0; at < n;) {
                unsigned short length;
                memcpy(&length, listing + at + offsetof(struct dirent64, d_reclen), sizeof length);
                const char *name = listing + at + offsetof(struct dirent64, d_name);
                at += length;
                long fd = 0;
                for (const char *digit = name; *digit >= '0' && *digit <= '9'; digit++)
                    fd = 10 * fd + (*digit - '0');
                if (name[0] == '.' || fd < 3 || fd == dir)
                    continue;
                syscall(SYS_close, (int)fd);
                closed_any = 1;
            }
            if (closed_any && syscall(SYS_lseek, (int)dir, 0L, SEEK_SET) != 0)
                break;
        }
        syscall(SYS_close, (int)dir);
        if (n == 0)
            return;
    }
    for (long fd = 3; fd < c->max_fd; fd++)
        syscall(SYS_close, (int)fd);
}

/* The agent lowered its own oom_score_adj at its start (-999 by default), so that the kernel's OOM
 * killer takes a session's processes before the agent that serves every host; this child shares
 * the value, and the target would keep it across the exec: a session that fills the guest's memory
 * would be the last process killed. So it writes back the value the agent was started with
 * (spec->oom_score_adj, set only when the agent changed its own). Its own value alone: the kernel
 * writes a vfork child's (CLONE_VFORK) to it only, never to the other processes that share its
 * memory (the agent). Here, while the child still has the agent's privileges (before the profile
 * and the user switch): the lowest value a process may set itself without CAP_SYS_RESOURCE, its
 * floor (oom_score_adj_min), is set with the value only by a writer holding that capability. The
 * child inherited the agent's floor (-999 by default) from the agent's own write; written without the
 * capability, the value would leave it there, and a target of another user or without
 * capabilities could lower itself back to the agent's value. Before the rlimits, so that a
 * session's nofile limit cannot fail the open. A failure fails the spawn at this stage: a session
 * never starts protected as the agent is. */
static void restore_oom_score_adj(struct child *c)
{
    at_stage(c, STAGE_OOM_SCORE_ADJ);
    const char *value = c->spec->oom_score_adj;
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    STEP(c, fd);
    STEP(c, syscall(SYS_write, (int)fd, value, strlen(value)));
    STEP(c, syscall(SYS_close, (int)fd));
}

/* As root still, so hard limits can be raised; before the switch, so they bind the user. */
static void set_limits(struct child *c)
{
    at_stage(c, STAGE_SETRLIMIT);
    for (int64_t i = 0; i < c->spec->nrlimits; i++) {
        const struct agentd_rlimit *rl = &c->spec->rlimits[i];
        c->result->index = (int32_t)i;
        STEP(c, syscall(SYS_prlimit64, 0, (int)rl->resource, &rl->soft, NULL));  /* soft, hard: a struct rlimit64 */
    }
}

/* The files of the kernel's tunables, for read_only_kernel_files (runc's read-only paths), read-only
 * with every mount below them; then /dev, whose entries uid 0 owns (devtmpfs): read-only at its top
 * only, so that /dev/pts and /dev/shm below stay writable and device nodes open as before, but no
 * entry can be renamed, removed or made (a review renamed /dev/vport0p1 away, and the next agent
 * could not find its port until a reboot; put a file at /dev/null that another session's output
 * went into). */
static const char *const KERNEL_FILES[] = {
    "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/sys", NULL,
};
static const char *const ENTRIES_ONLY[] = {"/dev", NULL};

static void make_read_only(struct child *c, const char *path, unsigned int at_flags);

/* struct mount_attr of <linux/mount.h> (Linux 5.12), which older headers lack. */
struct mount_attr_v0 {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};

/* A root target of a confined profile (restricted, strict) loses its capabilities next, but stays
 * uid 0, and sysctl and sysfs check uid 0's mode bits, not a capability: it could still write
 * /proc/sys/kernel/core_pattern ("|PROG": the kernel runs PROG as root with every capability at the
 * next crash) or /sys's helpers, and so undo its profile. In a mount namespace of its own, slave to
 * the agent's (nothing done here reaches the agent's), those are read-only bind mounts, recursively
 * (mount_setattr, Linux 5.12; before it the bind mount alone), which only CAP_SYS_ADMIN could undo,
 * and the profile drops it. A path the kernel does not have is skipped. */
static void read_only_kernel_files(struct child *c)
{
    at_stage(c, STAGE_UNSHARE_MOUNTS);
    STEP(c, syscall(SYS_unshare, CLONE_NEWNS));
    if (syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == -1) {
        /* EINVAL: "/" is no mount's root (the agent in a chroot); the binds below go under /proc and
         * /sys, so those are made slaves instead. */
        if (errno != EINVAL)
            fail(c, errno);
        STEP(c, syscall(SYS_mount, NULL, "/proc", NULL, MS_REC | MS_SLAVE, NULL));
        if (syscall(SYS_mount, NULL, "/sys", NULL, MS_REC | MS_SLAVE, NULL) == -1 && errno != ENOENT)
            fail(c, errno);
    }
    at_stage(c, STAGE_MOUNT_READ_ONLY);
    for (const char *const *path = KERNEL_FILES; *path; path++)
        make_read_only(c, *path, AT_RECURSIVE);
    for (const char *const *path = ENTRIES_ONLY; *path; path++)
        make_read_only(c, *path, 0);
}

/* A bind of path onto itself with the mounts below it, made read-only: with them (AT_RECURSIVE) or
 * at its top only (0). A path the kernel does not have is skipped. */
static void make_read_only(struct child *c, const char *path, unsigned int at_flags)
{
    if (syscall(SYS_mount, path, path, NULL, MS_BIND | MS_REC, NULL) == -1) {
        if (errno == ENOENT)
            return;
        fail(c, errno);
    }
    struct mount_attr_v0 read_only = {MOUNT_ATTR_RDONLY, 0, 0, 0};
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, at_flags, &read_only, sizeof read_only) == -1) {
        if (errno != ENOSYS)
            fail(c, errno);
        /* A remount sets every flag: the ones the mount has (nosuid, nodev, noexec, atime) kept. */
        struct statfs fs;
        STEP(c, syscall(SYS_statfs, path, &fs));
        unsigned long kept = (unsigned long)fs.f_flags
                             & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
        STEP(c, syscall(SYS_mount, NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept, NULL));
    }
}

/* Whether the target runs as uid 0: the agent's own uid when the spec keeps it. */
static int target_is_root(struct child *c)
{
    return c->spec->set_user ? c->spec->uid == 0 : syscall(SYS_geteuid) == 0;
}

static void drop_sys_admin(struct child *c);
static void drop_every_capability(struct child *c);

/* The profile step (see the profiles at the top): restricted and strict share the start, nothing
 * gained by exec (setuid bits, file caps) and no ambient caps. A profile value this file does not
 * know gets the strictest. */
static void drop_privileges(struct child *c)
{
    at_stage(c, STAGE_NO_NEW_PRIVS);
    STEP(c, syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L));
    at_stage(c, STAGE_AMBIENT_CLEAR);
    STEP(c, syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L));
    if (c->spec->profile == PROFILE_RESTRICTED)
        drop_sys_admin(c);
    else
        drop_every_capability(c);
}

/* restricted: CAP_SYS_ADMIN out of the bounding set, then out of the three process sets. A read of
 * the bounding set that fails (a seccomp filter's EPERM) fails the step: taken for "not in the set",
 * it left CAP_SYS_ADMIN there. */
static void drop_sys_admin(struct child *c)
{
    at_stage(c, STAGE_CAPBSET_DROP);
    long in_set = syscall(SYS_prctl, PR_CAPBSET_READ, (long)CAP_SYS_ADMIN, 0L, 0L, 0L);
    STEP(c, in_set);
    if (in_set == 1)
        STEP(c, syscall(SYS_prctl, PR_CAPBSET_DROP, (long)CAP_SYS_ADMIN, 0L, 0L, 0L));

    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    at_stage(c, STAGE_CAPGET);
    STEP(c, syscall(SYS_capget, &header, data));
    unsigned word = CAP_TO_INDEX(CAP_SYS_ADMIN);
    unsigned mask = CAP_TO_MASK(CAP_SYS_ADMIN);
    data[word].effective &= ~mask;
    data[word].permitted &= ~mask;
    data[word].inheritable &= ~mask;
    at_stage(c, STAGE_CAPSET);
    STEP(c, syscall(SYS_capset, &header, data));
}

/* The capabilities a kernel's sets can hold: 64 (two 32-bit words); none past 63 exists. */
#define CAP_SET_BITS (32 * _LINUX_CAPABILITY_U32S_3)

/* strict: the bounding set emptied, the inheritable set emptied, then the securebits set and
 * locked. The bounding set: every capability up to the kernel's last, spec->last_cap, and on for
 * as long as PR_CAPBSET_READ answers (the agent's number may be a lower bound). Past the last the
 * kernel answers EINVAL, and the loop ends there; an EINVAL at or below it is a seccomp filter's
 * (the kernel knows those capabilities) and fails the step: taken for the end, it left every
 * capability from there on in the set. The last is never taken below CAP_AUDIT_READ (37), which
 * every kernel since 3.16 knows. Any other error fails the step with its errno: a loop that ended
 * at the first -1 whatever it was (a seccomp filter answering EPERM to prctl) dropped nothing, and
 * the target started with the set full. The loop stops at CAP_SET_BITS whatever the answers: the
 * kernel's capability sets are 64 bits, and a filter answering 0 ("not in the set") to every
 * number kept it going until the spawn guard killed the child. */
static void drop_every_capability(struct child *c)
{
    at_stage(c, STAGE_CAPBSET_DROP);
    long last = c->spec->last_cap > CAP_AUDIT_READ ? (long)c->spec->last_cap : CAP_AUDIT_READ;
    for (long cap = 0; cap < CAP_SET_BITS; cap++) {
        long in_set = syscall(SYS_prctl, PR_CAPBSET_READ, cap, 0L, 0L, 0L);
        if (in_set == -1 && errno == EINVAL && cap > last)
            break;
        STEP(c, in_set);
        if (in_set == 1)
            STEP(c, syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0L, 0L, 0L));
    }

    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    at_stage(c, STAGE_CAPGET);
    STEP(c, syscall(SYS_capget, &header, data));
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        data[i].inheritable = 0;
    at_stage(c, STAGE_CAPSET);
    STEP(c, syscall(SYS_capset, &header, data));

    at_stage(c, STAGE_SECUREBITS);
    long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED
                | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    STEP(c, syscall(SYS_prctl, PR_SET_SECUREBITS, bits, 0L, 0L, 0L));
}

/* Groups first, uid last: each step needs the privilege the next one drops. Raw calls: this
 * process only (see rule 2). */
static void switch_user(struct child *c)
{
    const struct agentd_spawn_spec *s = c->spec;
    at_stage(c, STAGE_SETGROUPS);
    STEP(c, syscall(SYS_setgroups, (size_t)s->ngroups, s->groups));
    /* Each new egid or euid sets the dumpable flag of the memory this child shares with the agent
     * to fs.suid_dumpable: at 1 the agent stayed dumpable for good, and this child, a process of the
     * target user until its exec, could be ptraced into the agent's memory. Back to 0 after each,
     * so a setresuid that fails after the setresgid leaves nothing either (the exec gives the
     * target a flag of its own). In between, the kernel lets a process ptrace this child only if
     * its uid is each of the child's real, effective and saved uids: the saved uid stays the
     * agent's (root) until the flag is 0 again, so no process of the target user can attach in that
     * instant. Setting the saved uid alone then needs no privilege and leaves the flag as it is. */
    at_stage(c, STAGE_SETGID);
    STEP(c, syscall(SYS_setresgid, (gid_t)s->gid, (gid_t)s->gid, (gid_t)s->gid));
    STEP(c, syscall(SYS_prctl, PR_SET_DUMPABLE, 0L, 0L, 0L, 0L));
    at_stage(c, STAGE_SETUID);
    STEP(c, syscall(SYS_setresuid, (uid_t)s->uid, (uid_t)s->uid, (uid_t)-1));
    STEP(c, syscall(SYS_prctl, PR_SET_DUMPABLE, 0L, 0L, 0L, 0L));
    STEP(c, syscall(SYS_setresuid, (uid_t)-1, (uid_t)-1, (uid_t)s->uid));
}

/* As the target user: a directory it may not enter fails here (EACCES), as it would for it. */
static void change_directory(struct child *c)
{
    at_stage(c, STAGE_CHDIR);
    STEP(c, syscall(SYS_chdir, c->spec->cwd));
}

/* execvpe's search over spec->search_path, without its /bin/sh fallback. Error precedence as glibc's:
 * EACCES from any candidate is remembered; names missing from a directory go on to the next; any
 * other error ends the search. A directory of PATH_MAX bytes or more is skipped, as glibc skips it
 * (execve would end the search with ENAMETOOLONG). */
static void exec_target(struct child *c) __attribute__((noreturn));

static void exec_target(struct child *c)
{
    const struct agentd_spawn_spec *s = c->spec;
    at_stage(c, STAGE_EXECVE);
    if (strchr(s->file, '/')) {
        syscall(SYS_execve, s->file, s->argv, s->envp);
        fail(c, errno);
    }
    size_t file_len = strlen(s->file);
    int saw_eacces = 0;
    for (const char *dir = s->search_path;;) {
        const char *end = strchrnul(dir, ':');
        size_t dir_len = (size_t)(end - dir);
        if (dir_len >= PATH_MAX) {
            if (*end == '\0')
                break;
            dir = end + 1;
            continue;
        }
        char *p = c->candidate;
        if (dir_len > 0) {  /* an empty element is the current directory */
            memcpy(p, dir, dir_len);
            p += dir_len;
            *p++ = '/';
        }
        memcpy(p, s->file, file_len + 1);
        syscall(SYS_execve, c->candidate, s->argv, s->envp);
        switch (errno) {
        case EACCES:
            saw_eacces = 1;
            break;
        case ENOENT:
        case ENOTDIR:
        case ESTALE:
        case ENODEV:
        case ETIMEDOUT:
            break;
        default:
            fail(c, errno);
        }
        if (*end == '\0')
            break;
        dir = end + 1;
    }
    fail(c, saw_eacces ? EACCES : ENOENT);
}

static int child_main(void *arg)
{
    struct child *c = arg;
    c->result->child = (int32_t)syscall(SYS_getpid);  /* rule 9 */
    reset_signals(c);
    if (c->spec->keep_below > 0)
        unshare_fds(c);
    if (c->spec->join_cgroup && !c->born_in_cgroup)
        join_cgroup(c);
    new_session(c);
    place_fds(c);
    if (c->spec->oom_score_adj)
        restore_oom_score_adj(c);
    set_limits(c);
    if (c->spec->profile != PROFILE_DEFAULT && target_is_root(c))
        read_only_kernel_files(c);
    if (c->spec->profile != PROFILE_DEFAULT)
        drop_privileges(c);
    if (c->spec->set_user)
        switch_user(c);
    if (c->spec->cwd)
        change_directory(c);
    exec_target(c);
}

/* ---- the parent ----------------------------------------------------------------------------- */

/* The child's memory: scratch at the bottom, its stack above. One mapping of the usual size is kept
 * between spawns (a spawn that finds it taken, by a concurrent one, maps its own), because unmapping
 * memory another CPU touched costs every CPU that ran this process a TLB shootdown. Reuse is safe:
 * when clone returns, the child has exec'd into a new address space or exited. */
struct child_memory {
    char *base;
    size_t size;
};

static char *_Atomic spare_mapping;

static size_t cached_size(void)
{
    return CHILD_STACK_BYTES + CACHED_SCRATCH_BYTES;
}

static int take_memory(size_t scratch, struct child_memory *m)
{
    if (scratch <= CACHED_SCRATCH_BYTES) {
        m->size = cached_size();
        m->base = atomic_exchange(&spare_mapping, NULL);
        if (m->base)
            return 0;
    } else {
        long page = sysconf(_SC_PAGESIZE);
        m->size = ((scratch + CHILD_STACK_BYTES + (size_t)page - 1) / (size_t)page) * (size_t)page;
    }
    m->base = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return m->base == MAP_FAILED ? -1 : 0;
}

static void give_back_memory(struct child_memory *m)
{
    char *none = NULL;
    if (m->size == cached_size() && atomic_compare_exchange_strong(&spare_mapping, &none, m->base))
        return;
    munmap(m->base, m->size);
}

static int failed(struct agentd_spawn_result *result, enum agentd_stage stage, int err)
{
    result->pid = -1;
    result->pidfd = -1;
    result->stage = stage;
    result->err = err;
    return -1;
}

static int block_all_signals(uint64_t *old)
{
    uint64_t all = ~(uint64_t)0;
    return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, old, KERNEL_SIGSET_BYTES);
}

static void restore_signals(const uint64_t *old)
{
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, KERNEL_SIGSET_BYTES);
}

/* clone3's arguments (struct clone_args of linux/sched.h, up to its cgroup field: Linux 5.7). */
struct clone3_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};
_Static_assert(sizeof(struct clone3_args) == 88, "CLONE_ARGS_SIZE_VER2, the size with the cgroup field");

#if defined(__x86_64__)
/* long clone3_run(struct clone3_args *args, size_t size, int (*fn)(void *), void *arg): clone3 that
 * runs fn(arg) in the child and exits with its value, as glibc's clone() does for clone. The child
 * starts at the syscall's return on its own stack, where no C frame exists, so what it does until
 * fn is called is written here in assembly. Returns the child's pid, or -errno. fn and arg are kept
 * in r9 and r8, which the syscall preserves (it clobbers rcx and r11). */
long clone3_run(struct clone3_args *args, size_t size, int (*fn)(void *), void *arg);
#define STRINGIFY(x) #x
#define NUMBER(x) STRINGIFY(x)
__asm__(".pushsection .text\n"
        ".globl clone3_run\n"
        ".hidden clone3_run\n"
        ".type clone3_run, @function\n"
        "clone3_run:\n"
        "    mov %rdx, %r9\n"
        "    mov %rcx, %r8\n"
        "    mov $" NUMBER(SYS_clone3) ", %eax\n"
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jz 1f\n"
        "    ret\n"
        "1:  xor %ebp, %ebp\n"         /* the child: the outermost frame */
        "    and $-16, %rsp\n"
        "    mov %r8, %rdi\n"
        "    call *%r9\n"
        "    mov %rax, %rdi\n"
        "    mov $" NUMBER(SYS_exit) ", %eax\n"
        "    syscall\n"
        "    hlt\n"
        ".size clone3_run, .-clone3_run\n"
        ".popsection\n");
#define HAVE_CLONE3_RUN 1
#endif

/* The child created in its session's cgroup (rule 7): its pid; or -1 with *refusal 0 when clone3
 * cannot (the old way is then taken); or -1 with *refusal EAGAIN when the cgroup is at its pids.max,
 * which the old way would not see: a move in through cgroup.procs is not checked against pids.max,
 * so a session limited to 0 tasks ran its command. */
static pid_t clone_into_cgroup(struct child *c, int flags, char *stack, size_t stack_size, int *pidfd,
                               int *refusal)
{
#ifdef HAVE_CLONE3_RUN
    struct clone3_args args = {
        .flags = (uint64_t)flags | CLONE_PIDFD | CLONE_INTO_CGROUP,
        .pidfd = (uint64_t)(uintptr_t)pidfd,
        .exit_signal = SIGCHLD,
        .stack = (uint64_t)(uintptr_t)stack,
        .stack_size = stack_size,
        .cgroup = (uint64_t)c->spec->cgroup_fd,
    };
    c->born_in_cgroup = 1;
    long pid = clone3_run(&args, sizeof args, child_main, c);
    if (pid > 0)
        return (pid_t)pid;
    c->born_in_cgroup = 0;
    /* EAGAIN is the cgroup's pids.max (or the process limit, which the old way meets as well). Any
     * other failure takes the old way: a kernel without clone3 or CLONE_INTO_CGROUP (ENOSYS, E2BIG,
     * EINVAL), a seccomp filter that refuses clone3 (EPERM, in some containers), a directory that is
     * no cgroup (EBADF); a cgroup that refuses the child for another reason refuses the move too. */
    if (pid == -EAGAIN)
        *refusal = EAGAIN;
#else
    (void)c, (void)flags, (void)stack, (void)stack_size, (void)refusal;
#endif
    *pidfd = -1;
    return -1;
}

/* clone with CLONE_PIDFD (the pidfd comes with the pid, no race with a reaper), or without it on
 * kernels before 5.2, where the pidfd is opened afterwards (or is -1 before 5.3). With a cgroup to
 * join, clone3 first (rule 7). The stack is the top CHILD_STACK_BYTES of the child's memory. */
static pid_t clone_child(struct child *c, char *stack, int *pidfd, int *cgroup_refusal)
{
    int flags = CLONE_VM | CLONE_VFORK | (c->spec->keep_below > 0 ? CLONE_FILES : 0);
    *pidfd = -1;
    if (c->spec->join_cgroup) {
        pid_t born = clone_into_cgroup(c, flags, stack, CHILD_STACK_BYTES, pidfd, cgroup_refusal);
        if (born > 0 || *cgroup_refusal != 0)
            return born;
    }
    flags |= SIGCHLD;
    void *stack_top = stack + CHILD_STACK_BYTES;
    pid_t pid = clone(child_main, stack_top, flags | CLONE_PIDFD, c, pidfd);
    if (pid == -1 && errno == EINVAL) {
        pid = clone(child_main, stack_top, flags, c);
        if (pid > 0)
            *pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    }
    return pid;
}

EXPORT int agentd_spawn(const struct agentd_spawn_spec *spec, struct agentd_spawn_result *result)
{
    memset(result, 0, sizeof *result);

    /* Everything the child needs, allocated here: its stack, and below it the PATH search's scratch
     * (one directory of search_path, '/', the file name, NUL). */
    struct child_memory memory;
    if (take_memory(strlen(spec->search_path) + strlen(spec->file) + 2, &memory) != 0)
        return failed(result, STAGE_MMAP, errno);
    struct rlimit nofile;
    struct child c = {
        .spec = spec,
        .result = result,
        .candidate = memory.base,
        .max_fd = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < (1 << 20) ? (long)nofile.rlim_cur
                                                                                          : 1 << 20,
    };

    uint64_t old_mask;
    if (block_all_signals(&old_mask) != 0) {
        int err = errno;
        give_back_memory(&memory);
        return failed(result, STAGE_CLONE, err);
    }
    int pidfd;
    int cgroup_refusal = 0;
    pid_t pid = clone_child(&c, memory.base + memory.size - CHILD_STACK_BYTES, &pidfd, &cgroup_refusal);
    int clone_errno = errno;
    __atomic_store_n(&result->child, 0, __ATOMIC_SEQ_CST);  /* rule 9: before any waitpid */
    restore_signals(&old_mask);
    give_back_memory(&memory);

    if (pid == -1 && cgroup_refusal != 0)
        return failed(result, STAGE_CGROUP, cgroup_refusal);
    if (pid == -1)
        return failed(result, STAGE_CLONE, clone_errno);
    /* The child has exec'd or exited: its report is final. */
    int stage = result->stage;
    int err = result->err;
    if (err == 0 && stage == STAGE_EXECVE) {
        result->pid = pid;
        result->pidfd = pidfd;
        return 0;
    }
    if (pidfd >= 0)
        close(pidfd);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR) {
    }
    int index = result->index;
    failed(result, err != 0 ? stage : STAGE_DIED, err);
    result->index = index;
    return -1;
}
