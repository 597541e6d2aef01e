package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.ProcNumber;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.Rlimit;
import java.nio.file.Path;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The one place that turns a failed step of a spawn (stage + errno, from the agent's preparation or
 * from native-shim's report) into the core.exec.failed payload: kind decided by the stage first and
 * the errno second (PROTOCOL.md), a message naming the command and the step. Errno 0 means the step
 * failed without an errno (no such user or group) and becomes a null errno on the wire.
 */
public final class ExecReport {
    private static final Set<String> USER_STAGES =
            Set.of("getpwnam", "getpwuid", "getgrnam", UserDb.RESERVED_UID_STAGE, "initgroups", "setgroups", "setgid",
                    "setuid");
    private static final Set<String> PTY_STAGES = Set.of("posix_openpt", "grantpt", "unlockpt", "ptsname_r",
            "open(pts)", "ioctl(TIOCSWINSZ)", "ioctl(TIOCSCTTY)", "fchown(pts)", "fchmod(pts)", "fcntl(ptmx)");
    /** Stages of the agent's own machinery: an errno there says nothing about the command. */
    private static final Set<String> AGENT_STAGES = Set.of("mmap", "clone", "pipe2", "fcntl", "rt_sigaction",
            "sigprocmask", "setsid", "dup2", "close_range", "oom_score_adj", "died before exec", "none");

    private static final Path NR_OPEN = Path.of("/proc/sys/fs/nr_open");
    private static final Path PTY_NR = Path.of("/proc/sys/kernel/pty/nr");
    private static final Path PTY_MAX = Path.of("/proc/sys/kernel/pty/max");

    private ExecReport() {}

    /**
     * The failure for step {@code stage} failing with {@code errno} (0 = no errno), whether the
     * spawned child reported it or the agent hit it while preparing the spawn.
     */
    public static ExecFailed failure(String stage, int errno, SpawnSpec spec) {
        return failure(stage, errno, spec, PTY_NR, PTY_MAX);
    }

    /** {@link #failure(String, int, SpawnSpec)} with the PTY counts read from these files (tests: files of theirs). */
    static ExecFailed failure(String stage, int errno, SpawnSpec spec, Path ptyNrFile, Path ptyMaxFile) {
        String cause = stage.equals("posix_openpt") && errno == LibC.ENOSPC ? "; " + noPtyLeft(ptyNrFile, ptyMaxFile) : "";
        return failure(stage, step(stage, errno, spec), errno, spec, cause);
    }

    /**
     * Why posix_openpt said ENOSPC: the PTYs ran out (devpts counts them against kernel.pty.max, and a
     * devpts mounted with {@code max=} against its own), which "No space left on device" does not
     * say. The counts are read here, when the failure is reported.
     */
    private static String noPtyLeft(Path nrFile, Path maxFile) {
        OptionalLong nr = ProcNumber.read(nrFile);
        OptionalLong max = ProcNumber.read(maxFile);
        String counts = nr.isPresent() && max.isPresent()
                ? "kernel.pty.nr " + nr.getAsLong() + " of kernel.pty.max " + max.getAsLong()
                : "kernel.pty.max; " + maxFile + " not readable here";
        return "every PTY the guest allows is in use, not a full disk (" + counts
                + ", or the max= of the /dev/pts mount); each PTY session holds one until it ends, and any"
                + " process may open more";
    }

    /**
     * The failure of the setrlimit of {@code failed}, the request's entry whose call failed: found
     * by its index, for a resource may be given more than once (each entry applied in turn), and
     * the message quotes the values of the entry that failed, not the first with its name.
     */
    public static ExecFailed rlimitFailure(Rlimit failed, int errno, SpawnSpec spec) {
        return rlimitFailure(failed, errno, spec, NR_OPEN);
    }

    /**
     * {@link #rlimitFailure(Rlimit, int, SpawnSpec)} with fs.nr_open read from {@code nrOpenFile}
     * (tests: a file of theirs). An EPERM gets its cause: the kernel's cap on RLIMIT_NOFILE,
     * fs.nr_open (root included: "nofile=unlimited" and any number above it fail so), or else a hard
     * limit raised without CAP_SYS_RESOURCE. The file is read here, in the agent, when the failure is
     * reported; the child reads none (native-shim's rule 1).
     */
    static ExecFailed rlimitFailure(Rlimit failed, int errno, SpawnSpec spec, Path nrOpenFile) {
        String stage = "setrlimit(RLIMIT_" + failed.resource().toUpperCase(Locale.ROOT) + ")";
        String step = stage + " to soft " + Rlimit.text(failed.soft()) + ", hard " + Rlimit.text(failed.hard()) + " failed";
        return failure(stage, step, errno, spec, errno == LibC.EPERM ? "; " + whyNotPermitted(failed, nrOpenFile) : "");
    }

    /** Why setrlimit said EPERM to {@code failed}: above fs.nr_open (RLIMIT_NOFILE), or a hard limit raised. */
    private static String whyNotPermitted(Rlimit failed, Path nrOpenFile) {
        String raised = "raising a hard limit above the one in force needs CAP_SYS_RESOURCE";
        if (!failed.resource().equals("nofile")) {
            return raised;
        }
        OptionalLong read = ProcNumber.read(nrOpenFile);
        if (read.isEmpty() || read.getAsLong() < 0) {
            return "the kernel caps RLIMIT_NOFILE at fs.nr_open, for root too (" + nrOpenFile + ", not readable here);"
                    + " below it, " + raised;
        }
        long nrOpen = read.getAsLong();
        if (Long.compareUnsigned(failed.hard(), nrOpen) > 0) {
            return "the kernel caps RLIMIT_NOFILE at fs.nr_open, " + Rlimit.text(nrOpen) + " here (" + nrOpenFile
                    + "), for root too";
        }
        return raised;
    }

    /**
     * The child did not get past step {@code stage} within {@code deadlineMillis} and was killed
     * ({@link SpawnGuard}): a wait nothing would end, a mount that does not answer most often. No
     * errno: the step did not fail, it never finished; a chdir is bad_cwd by its stage.
     */
    public static ExecFailed overdue(String stage, long deadlineMillis, SpawnSpec spec) {
        String step = (stage.equals("chdir") ? "chdir to \"" + spec.cwd() + "\"" : stage) + " did not finish within "
                + deadlineMillis + " ms (a mount that does not answer?); the new process was killed";
        return failure(stage, step, 0, spec);
    }

    /** @param step the step in words, with the request's value it acted on */
    private static ExecFailed failure(String stage, String step, int errno, SpawnSpec spec) {
        return failure(stage, step, errno, spec, "");
    }

    /** @param cause what the errno means for this step, after it ("; ..."), or "" */
    private static ExecFailed failure(String stage, String step, int errno, SpawnSpec spec, String cause) {
        String errnoName = errno == 0 ? null : Os.errnoName(errno);
        String message = "cannot run \"" + spec.cmd() + "\": " + step
                + (errno == 0 ? "" : ": " + Os.errnoDescription(errno) + " (" + errnoName + ")") + cause;
        return ExecFailed.of(kind(stage, errnoName), errno == 0 ? null : errno, errnoName, message, stage);
    }

    static FailureKind kind(String stage, String errnoName) {
        if (stage.equals("chdir")) {
            return FailureKind.BAD_CWD;
        }
        if (stage.startsWith("setrlimit")) {
            return FailureKind.RESOURCE_LIMIT;
        }
        if (stage.equals("cgroup")) {
            // The kernel refuses a move into a cgroup that is at a limit (EAGAIN, ENOMEM, ENOSPC).
            return switch (errnoName == null ? "" : errnoName) {
                case "EAGAIN", "ENOMEM", "ENOSPC" -> FailureKind.RESOURCE_LIMIT;
                default -> FailureKind.OTHER;
            };
        }
        if (USER_STAGES.contains(stage)) {
            return FailureKind.USER_SETUP_FAILED;
        }
        if (PTY_STAGES.contains(stage)) {
            return FailureKind.PTY_SETUP_FAILED;
        }
        if (AGENT_STAGES.contains(stage)) {
            return switch (errnoName == null ? "" : errnoName) {
                case "EMFILE", "ENFILE", "EAGAIN" -> FailureKind.RESOURCE_LIMIT;
                case "ENOMEM" -> FailureKind.OUT_OF_MEMORY;
                case "E2BIG" -> FailureKind.BAD_ARGS;
                default -> FailureKind.OTHER;
            };
        }
        return byErrno(errnoName);
    }

    private static FailureKind byErrno(String errnoName) {
        if (errnoName == null) {
            return FailureKind.OTHER;
        }
        return switch (errnoName) {
            case "ENOENT" -> FailureKind.NOT_FOUND;
            case "ENOTDIR" -> FailureKind.BAD_CWD;
            case "EACCES", "EPERM" -> FailureKind.PERMISSION_DENIED;
            case "ENOEXEC", "EISDIR", "ETXTBSY" -> FailureKind.NOT_EXECUTABLE;
            case "E2BIG", "ELOOP", "ENAMETOOLONG", "EFAULT" -> FailureKind.BAD_ARGS;
            case "EMFILE", "ENFILE", "EAGAIN" -> FailureKind.RESOURCE_LIMIT;
            case "ENOMEM" -> FailureKind.OUT_OF_MEMORY;
            default -> FailureKind.OTHER;
        };
    }

    /** The step in words, with the request's value it acted on. */
    private static String step(String stage, int errno, SpawnSpec spec) {
        return switch (stage) {
            case "execve" -> "exec failed" + ExecDiagnosis.of(spec, errno == 0 ? null : Os.errnoName(errno));
            case "chdir" -> "chdir to \"" + spec.cwd() + "\" failed";
            case "getpwnam", "getpwuid" -> errno == 0
                    ? "no such user \"" + spec.user() + "\" (" + stage + ")"
                    : "looking up user \"" + spec.user() + "\" (" + stage + ") failed";
            case "getgrnam" -> errno == 0
                    ? "no such group in user \"" + spec.user() + "\" (getgrnam)"
                    : "looking up the group of user \"" + spec.user() + "\" (getgrnam) failed";
            case UserDb.RESERVED_UID_STAGE -> "user \"" + spec.user() + "\" " + UserDb.RESERVED_UID_REASON;
            case "initgroups", "setgroups", "setgid", "setuid" ->
                    "switching to user \"" + spec.user() + "\" (" + stage + ") failed";
            case "ioctl(TIOCSCTTY)" -> "making the PTY the controlling terminal (ioctl(TIOCSCTTY)) failed";
            case "mmap", "clone" -> "starting a process (" + stage + ") failed";
            case "cgroup" -> "starting the process in the session's cgroup failed (clone3 into it, or the write to"
                    + " cgroup.procs; EAGAIN: its pids_max, or the guest's process limit)";
            case "died before exec" -> "the new process was killed before it could exec";
            case "oom_score_adj" -> "giving the new process the oom_score_adj the agent was started with (the"
                    + " agent's own is lowered, and a command must not keep it) failed";
            default -> stage.startsWith("prctl") || stage.startsWith("cap")
                    ? "applying the " + spec.profile().wireName() + " profile (" + stage + ") failed"
                    : stage + " failed";
        };
    }
}
