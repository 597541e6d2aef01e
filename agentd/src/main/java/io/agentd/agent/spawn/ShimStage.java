package io.agentd.agent.spawn;

/**
 * The stages of native-shim's agentd_spawn, in the order of enum agentd_stage in agentd-shim.h (the
 * ordinal is the C value), each with the stage name core.exec.failed carries. The names are those of the calls the
 * step stands for, as the exec helper reported them before, so that {@link ExecReport} maps them to
 * the same failure kinds.
 */
enum ShimStage {
    NONE("none"),
    MMAP("mmap"),
    CLONE("clone"),
    RT_SIGACTION("rt_sigaction"),
    SIGPROCMASK("sigprocmask"),
    CGROUP("cgroup"),
    SETSID("setsid"),
    TIOCSCTTY("ioctl(TIOCSCTTY)"),
    DUP("dup2"),
    CLOSE_RANGE("close_range"),
    OOM_SCORE_ADJ("oom_score_adj"),
    SETRLIMIT("setrlimit"),
    UNSHARE_MOUNTS("unshare(CLONE_NEWNS)"),
    MOUNT_READ_ONLY("mount"),
    NO_NEW_PRIVS("prctl(PR_SET_NO_NEW_PRIVS)"),
    AMBIENT_CLEAR("prctl(PR_CAP_AMBIENT_CLEAR_ALL)"),
    CAPBSET_DROP("prctl(PR_CAPBSET_DROP)"),
    CAPGET("capget"),
    CAPSET("capset"),
    SECUREBITS("prctl(PR_SET_SECUREBITS)"),
    SETGROUPS("setgroups"),
    SETGID("setgid"),
    SETUID("setuid"),
    CHDIR("chdir"),
    EXECVE("execve"),
    DIED("died before exec");

    private static final ShimStage[] BY_VALUE = values();

    final String stageName;

    ShimStage(String stageName) {
        this.stageName = stageName;
    }

    /** The stage for a C value; an unknown value is NONE (reported as kind other). */
    static ShimStage of(int value) {
        return value >= 0 && value < BY_VALUE.length ? BY_VALUE[value] : NONE;
    }
}
