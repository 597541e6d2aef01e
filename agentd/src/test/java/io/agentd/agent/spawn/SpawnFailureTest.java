package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.Rlimit;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Failures before the target runs: each is a typed core.exec.failed, never a hang or a crash. */
@Timeout(60)
class SpawnFailureTest {

    private static SpawnSpec spec(String cmd, List<String> env, String cwd, String user, List<Rlimit> rlimits) {
        return new SpawnSpec(cmd, List.of(), env, cwd, user, false, 24, 80, rlimits, Profile.DEFAULT);
    }

    private static List<String> env() {
        return EnvBuilder.build(List.of(), List.of(), false);
    }

    private static ExecFailed failure(SpawnSpec spec) {
        return assertThrows(SpawnFailure.class, () -> ChildIo.spawner().start(spec)).failure();
    }

    /**
     * A cgroup the child cannot be put in fails the spawn at stage cgroup, typed, and nothing runs. A
     * directory that is no cgroup stands in for it: clone3 refuses to create the child there, and the
     * old way (native-shim's join_cgroup) finds no cgroup.procs in it.
     */
    @Test
    void aCgroupTheChildCannotJoinIsStageCgroup() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "not-a-cgroup");
        int notACgroup = Os.libc().open(Os.cString(dir.toString()), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        try {
            ExecFailed f = assertThrows(SpawnFailure.class,
                    () -> ChildIo.spawner().start(spec("true", env(), null, null, List.of()), notACgroup)).failure();
            assertEquals("cgroup", f.stage());
            assertEquals("ENOENT", f.errnoName());
            assertEquals("other", f.kind());
            assertTrue(f.message().contains("starting the process in the session's cgroup failed"), f.message());
        } finally {
            Os.close(notACgroup);
        }
    }

    /**
     * Where clone3 cannot create the child in its cgroup (a kernel before 5.7; here, a directory that is
     * no cgroup), the spawn is made the old way: the child writes itself ("0") to the directory's
     * cgroup.procs, here a plain file that keeps what was written, and runs.
     */
    @Test
    void whereClone3CannotTheChildJoinsThroughCgroupProcs() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "not-a-cgroup");
        Path procs = Files.createFile(dir.resolve("cgroup.procs"));
        int fd = Os.libc().open(Os.cString(dir.toString()), LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        try {
            Child child = ChildIo.spawner().start(spec("true", env(), null, null, List.of()), fd);
            ExitStatus status = ExitStatus.waitFor(child.pid());
            Os.libc().close(child.stdinFd());
            ChildIo.closeRest(child);
            assertEquals(0, status.code(), status.toString());
            assertEquals("0", Files.readString(procs));
        } finally {
            Os.close(fd);
        }
    }

    @Test
    void missingCommandIsNotFound() {
        ExecFailed f = failure(spec("agentd-no-such-command", env(), null, null, List.of()));
        assertEquals("not_found", f.kind());
        assertEquals(2, f.errno());
        assertEquals("ENOENT", f.errnoName());
        assertEquals("execve", f.stage());
        assertTrue(f.message().contains("agentd-no-such-command"), f.message());
    }

    @Test
    void missingAbsolutePathIsNotFound() {
        ExecFailed f = failure(spec("/nonexistent/bin/tool", env(), null, null, List.of()));
        assertEquals("not_found", f.kind());
        assertEquals("ENOENT", f.errnoName());
        assertTrue(f.message().contains("/nonexistent/bin/tool"), f.message());
    }

    @Test
    void fileWithoutExecPermissionIsPermissionDenied() throws Exception {
        Path file = Path.of(System.getProperty(Spawner.SHIM_PROPERTY)).resolveSibling("agentd-test-not-executable");
        Files.writeString(file, "#!/bin/sh\necho hi\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        ExecFailed f = failure(spec(file.toString(), env(), null, null, List.of()));
        assertEquals("permission_denied", f.kind());
        assertEquals("EACCES", f.errnoName());
        assertTrue(f.message().contains("exec failed (the file has no execute permission)"), f.message());
    }

    /**
     * A script whose #! line ends in CRLF asks for the interpreter "/bin/sh\r": execve's ENOENT, which
     * said "No such file or directory" of a file that is there. The message names the interpreter.
     */
    @Test
    void scriptWhoseInterpreterIsMissingSaysSo() throws Exception {
        Path script = Path.of(System.getProperty(Spawner.SHIM_PROPERTY)).resolveSibling("agentd-test-crlf");
        Files.writeString(script, "#!/bin/sh\r\necho hi\r\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        ExecFailed f = failure(spec(script.toString(), env(), null, null, List.of()));
        assertEquals("not_found", f.kind());
        assertEquals("ENOENT", f.errnoName());
        assertTrue(f.message().contains("the file exists: its #! interpreter \"/bin/sh\\r\" is missing"), f.message());
    }

    /** One argument past the kernel's 128 KiB for a string: E2BIG, for a list far under 2 MiB. */
    @Test
    void anArgumentOverTheKernelsStringLimitIsNamed() {
        ExecFailed f = failure(new SpawnSpec("/bin/echo", List.of("short", "y".repeat(200_000)), env(), null, null,
                false, 24, 80, List.of(), Profile.DEFAULT));
        assertEquals("bad_args", f.kind());
        assertEquals("E2BIG", f.errnoName());
        assertTrue(f.message().contains("exec failed (args[1] is 200000 bytes; the kernel takes at most 131071 in one"
                + " argument)"), f.message());
    }

    /** A name searched in PATH and found nowhere: the message says where it was searched. */
    @Test
    void commandNotInPathNamesThePath() {
        ExecFailed f = failure(spec("agentd-no-such-command", List.of("PATH=/nonexistent:/usr/bin"), null, null,
                List.of()));
        assertTrue(f.message().contains("exec failed (not found in PATH \"/nonexistent:/usr/bin\")"), f.message());
    }

    /**
     * A PATH directory of PATH_MAX bytes or more is skipped, as glibc's execvpe skips it, and the
     * search goes on. Before, execve's ENAMETOOLONG ended the search: "true" failed bad_args.
     */
    @Test
    void aPathDirectoryTooLongForAPathIsSkipped() throws Exception {
        String tooLong = "/" + "d".repeat(4200);
        Child child = ChildIo.spawner().start(spec("true", List.of("PATH=" + tooLong + ":/usr/bin:/bin"), null, null,
                List.of()));
        try {
            Os.libc().close(child.stdinFd());
            assertEquals(0, ExitStatus.waitFor(child.pid()).code());
        } finally {
            ChildIo.closeRest(child);
        }
    }

    /** A name found in PATH as a file nobody may execute: the message names that file. */
    @Test
    void commandFoundInPathButNotExecutableNamesTheFile() throws Exception {
        // In a directory whose path is longer than the 64 characters the codec quotes: named whole.
        Path dir = Path.of(System.getProperty(Spawner.SHIM_PROPERTY)).resolveSibling("a-directory-of-commands-".repeat(4));
        Files.createDirectories(dir);
        Path file = dir.resolve("agentd-test-path-noexec");
        Files.writeString(file, "#!/bin/sh\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        ExecFailed f = failure(spec(file.getFileName().toString(), List.of("PATH=" + file.getParent()), null, null,
                List.of()));
        assertEquals("EACCES", f.errnoName());
        assertTrue(f.message().contains("(\"" + file + "\" has no execute permission)"), f.message());
    }

    /**
     * An executable file on a file system mounted noexec is EACCES like a file without an x bit, whose
     * hint did not fit it: the message names the mount. Needs root, to mount a tmpfs noexec.
     */
    @Test
    void anExecutableOnANoexecMountNamesTheMount() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root: mounts a tmpfs noexec");
        Path mount = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "noexec-");
        Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "noexec,size=1m", "tmpfs", mount.toString()) == 0,
                "cannot mount a tmpfs here");
        try {
            Path program = Files.copy(Path.of("/bin/true"), mount.resolve("true"));
            Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwxr-xr-x"));
            ExecFailed f = failure(spec(program.toString(), env(), null, null, List.of()));
            assertEquals("permission_denied", f.kind());
            assertEquals("EACCES", f.errnoName());
            assertTrue(f.message().contains("exec failed (the file is on \"" + mount + "\", mounted noexec)"),
                    f.message());
        } finally {
            run("umount", mount.toString());
            Files.deleteIfExists(mount);
        }
    }

    private static int run(String... command) throws Exception {
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    @Test
    void directoryIsPermissionDenied() {
        // Linux's execve answers EACCES (not EISDIR) for a directory.
        ExecFailed f = failure(spec("/usr/bin/", env(), null, null, List.of()));
        assertEquals("permission_denied", f.kind());
        assertEquals("execve", f.stage());
        assertTrue(f.message().contains("exec failed (the file is a directory)"), f.message());
    }

    @Test
    void executableWithoutInterpreterLineIsNotExecutable() throws Exception {
        Path script = Path.of(System.getProperty(Spawner.SHIM_PROPERTY)).resolveSibling("agentd-test-no-shebang");
        Files.writeString(script, "echo hi\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        ExecFailed f = failure(spec(script.toString(), env(), null, null, List.of()));
        assertEquals("not_executable", f.kind());
        assertEquals("ENOEXEC", f.errnoName());
        assertTrue(f.message().contains("exec failed (not a binary this kernel runs, and no #! line)"), f.message());
    }

    /**
     * A cmd path through a file is execve's ENOTDIR, bad_cwd by PROTOCOL.md's errno table: the message
     * says it is the command's path, not the cwd, that is wrong.
     */
    @Test
    void commandPathThroughAFileSaysItIsTheCommandsPath() {
        ExecFailed f = failure(spec("/dev/null/x", env(), null, null, List.of()));
        assertEquals("ENOTDIR", f.errnoName());
        assertEquals("execve", f.stage());
        assertTrue(f.message().contains("exec failed (a component of the command's path is not a directory)"),
                f.message());
    }

    @Test
    void missingCwdIsBadCwd() {
        ExecFailed f = failure(spec("true", env(), "/nonexistent/dir", null, List.of()));
        assertEquals("bad_cwd", f.kind());
        assertEquals("chdir", f.stage());
        assertEquals("ENOENT", f.errnoName());
        assertTrue(f.message().contains("\"true\"") && f.message().contains("/nonexistent/dir"), f.message());
    }

    @Test
    void cwdThatIsAFileIsBadCwd() {
        ExecFailed f = failure(spec("true", env(), "/etc/hostname", null, List.of()));
        assertEquals("bad_cwd", f.kind());
        assertEquals("ENOTDIR", f.errnoName());
    }

    @Test
    void unknownUserIsUserSetupFailed() {
        ExecFailed f = failure(spec("true", env(), null, "agentd-no-such-user", List.of()));
        assertEquals("user_setup_failed", f.kind());
        assertEquals("getpwnam", f.stage());
        assertNull(f.errno(), "no such user has no errno");
        assertTrue(f.message().contains("agentd-no-such-user"), f.message());
    }

    /** The uid that owns a root agent's session-group records runs nothing: refused before any spawn. */
    @Test
    void theRecordsOwnersUidIsUserSetupFailed() {
        ExecFailed f = failure(spec("/bin/true", env(), null, "4294967294", List.of()));
        assertEquals("user_setup_failed", f.kind());
        assertEquals("reserved uid", f.stage());
        assertTrue(f.message().contains("user \"4294967294\" is uid 4294967294, which runs no process: it owns"
                + " the agent's session-group records"), f.message());
    }

    @Test
    void unknownGroupIsUserSetupFailed() {
        ExecFailed f = failure(spec("true", env(), null, "nobody:agentd-no-such-group", List.of()));
        assertEquals("user_setup_failed", f.kind());
        assertEquals("getgrnam", f.stage());
    }

    /**
     * As non-root: a second JVM runs as nobody ({@link NonRootSpawn}, started as nobody through the
     * spawner) and asks for a hard limit above its current one: the raw setrlimit in its child fails
     * with EPERM. Needs root (to become nobody).
     */
    @Test
    void hardLimitAboveTheCurrentOneAsNonRootIsResourceLimit() throws Exception {
        ChildIo.Run r = ChildIo.run(NonRootSpawn.asNobody("hard-limit-above-current"));
        assertEquals(0, r.status().code(), "the probe failed: " + r.stdout() + r.stderr());
        assertEquals("resource_limit setrlimit(RLIMIT_NOFILE) EPERM\n", r.stdout());
    }

    /**
     * Root too cannot go above the kernel's fs.nr_open: the same failure through the whole path, and
     * the message names the cap (it said only "Operation not permitted (EPERM)"); "unlimited" is above
     * it as well.
     */
    @Test
    void hardLimitAboveTheKernelMaximumIsResourceLimit() throws Exception {
        // readAllLines: JDK 17's Files.readString stops early on /proc files (they report size 0).
        long nrOpen = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/nr_open")).get(0).trim());
        String cap = "(EPERM); the kernel caps RLIMIT_NOFILE at fs.nr_open, " + nrOpen + " here (/proc/sys/fs/nr_open),"
                + " for root too";
        ExecFailed f = failure(spec("true", env(), null, null, List.of(new Rlimit("nofile", 64, nrOpen + 1))));
        assertEquals("resource_limit", f.kind());
        assertEquals("setrlimit(RLIMIT_NOFILE)", f.stage(), f.message());
        assertTrue(f.message().contains("hard " + (nrOpen + 1)), f.message());
        assertTrue(f.message().endsWith(cap), f.message());
        ExecFailed unlimited = failure(spec("true", env(), null, null,
                List.of(new Rlimit("nofile", Rlimit.INFINITY, Rlimit.INFINITY))));
        assertEquals("resource_limit", unlimited.kind());
        assertEquals("setrlimit(RLIMIT_NOFILE)", unlimited.stage(), unlimited.message());
        assertTrue(unlimited.message().endsWith("to soft unlimited, hard unlimited failed: Operation not permitted "
                + cap), unlimited.message());
    }

    /**
     * A resource given twice is set twice, in order; the message names the entry whose setrlimit
     * failed (the second: above fs.nr_open, refused to root too), not the first with that name.
     */
    @Test
    void aRepeatedRlimitsFailureNamesTheEntryThatFailed() throws Exception {
        long nrOpen = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/nr_open")).get(0).trim());
        ExecFailed f = failure(spec("true", env(), null, null,
                List.of(new Rlimit("nofile", 32, 64), new Rlimit("nofile", 64, nrOpen + 1))));
        assertEquals("resource_limit", f.kind());
        assertEquals("setrlimit(RLIMIT_NOFILE)", f.stage(), f.message());
        assertTrue(f.message().contains("setrlimit(RLIMIT_NOFILE) to soft 64, hard " + (nrOpen + 1) + " failed"),
                f.message());
    }

    @Test
    void unknownRlimitIsBadArgs() {
        ExecFailed f = failure(spec("true", env(), null, null, List.of(new Rlimit("bogus", 1, 1))));
        assertEquals("bad_args", f.kind());
        assertTrue(f.message().contains("rlimits[0].resource") && f.message().contains("bogus"), f.message());
        // The host's text is escaped and cut, as cmd's and env's: no newline, escape or NUL on the wire.
        String hostile = "x\n\u001b[31m\u0000" + "y".repeat(100_000);
        ExecFailed h = failure(spec("true", env(), null, null, List.of(new Rlimit(hostile, 1, 1))));
        assertEquals("bad_args", h.kind());
        assertTrue(h.message().chars().noneMatch(c -> c == '\n' || c == 0x1b || c == 0), h.message());
        assertTrue(h.message().length() < 2_000, "cut: " + h.message().length());
    }

    /**
     * A soft limit above its hard one: resource_limit, as the setrlimit it would fail (EINVAL) is by
     * PROTOCOL.md, found before anything starts. RLIM_INFINITY prints as "unlimited", as in the
     * setrlimit failures' messages (it printed 18446744073709551615).
     */
    @Test
    void softAboveHardIsResourceLimit() {
        ExecFailed f = failure(spec("true", env(), null, null, List.of(new Rlimit("nofile", 10, 5))));
        assertEquals("resource_limit", f.kind());
        assertEquals("validate", f.stage());
        assertEquals("cannot run \"true\": rlimits[0] (nofile) soft 10 is above hard 5: a soft limit cannot exceed"
                + " its hard one (setrlimit refuses the pair, EINVAL; nothing was started)", f.message());
        ExecFailed infinite = failure(spec("true", env(), null, null,
                List.of(new Rlimit("nofile", 1, 1), new Rlimit("stack", Rlimit.INFINITY, 100))));
        assertEquals("resource_limit", infinite.kind(), "RLIM_INFINITY is the largest value");
        assertTrue(infinite.message().startsWith("cannot run \"true\": rlimits[1] (stack) soft unlimited is above"
                + " hard 100: "), infinite.message());
    }

    @Test
    void nulBytesAreBadArgsNamingTheField() {
        assertBadArgs(spec("tr\0ue", env(), null, null, List.of()), "cmd");
        assertBadArgs(new SpawnSpec("true", List.of("ok", "b\0d"), env(), null, null, false, 24, 80, List.of(),
                Profile.DEFAULT), "args[1]");
        assertBadArgs(spec("true", List.of("PATH=/bin", "K=v\0"), null, null, List.of()), "env[1]");
        assertBadArgs(spec("true", env(), "/tm\0p", null, List.of()), "cwd");
        assertBadArgs(spec("true", env(), null, "no\0body", List.of()), "user");
    }

    /**
     * The field holding a NUL is named with host text quoted as every message quotes it: escaped and
     * cut to 200 characters. The cmd shown with '?' for its NUL escaped requote, and a NUL in an env
     * name sent the whole name: newlines, terminal escapes, a megabyte.
     */
    @Test
    void aNulIsReportedWithTheHostTextEscapedAndBounded() {
        String cmd = "/bin/x\n\u001b[31m\0" + "z".repeat(4000);
        ExecFailed f = failure(new SpawnSpec(cmd, List.of(), env(), null, null, false, 24, 80, List.of(),
                Profile.DEFAULT));
        assertTrue(f.message().startsWith("cannot run \"/bin/x\\n\\u001b[31m\\u0000zz"), f.message());
        assertTrue(f.message().length() < 400 && f.message().endsWith("contains a NUL byte"), f.message());

        List<String> env = List.of("K\n" + "k".repeat(100_000) + "\0=v");
        ExecFailed e = failure(new SpawnSpec("true", List.of(), env, null, null, false, 24, 80, List.of(),
                Profile.DEFAULT));
        assertTrue(e.message().startsWith("cannot run \"true\": env[0] (\"K\\nkkk"), e.message());
        assertTrue(e.message().length() < 400 && e.message().endsWith("contains a NUL byte"), e.message());
    }

    @Test
    void envEntryWithoutEqualsIsBadArgs() {
        assertBadArgs(spec("true", List.of("PATH=/bin", "JUSTANAME"), null, null, List.of()), "env[1]");
        assertBadArgs(spec("true", List.of("=value"), null, null, List.of()), "env[0]");
    }

    @Test
    void malformedUserIsBadArgs() {
        for (String user : List.of("", ":", "nobody:", ":nogroup", "a:b:c")) {
            assertBadArgs(spec("true", env(), null, user, List.of()), "user");
        }
    }

    @Test
    void emptyCommandIsBadArgs() {
        assertBadArgs(spec("", env(), null, null, List.of()), "cmd");
    }

    @Test
    void windowSizeZeroInPtyModeAndOutOfRangeAreBadArgs() {
        List<String> ptyEnv = EnvBuilder.build(List.of(), List.of(), true);
        assertBadArgs(new SpawnSpec("true", List.of(), ptyEnv, null, null, true, 0, 80,
                List.of(), Profile.DEFAULT), "rows");
        assertBadArgs(new SpawnSpec("true", List.of(), ptyEnv, null, null, true, 24, 0,
                List.of(), Profile.DEFAULT), "cols");
        assertBadArgs(new SpawnSpec("true", List.of(), ptyEnv, null, null, true, 65536, 80, List.of(), Profile.DEFAULT),
                "rows");
        assertBadArgs(new SpawnSpec("true", List.of(), env(), null, null, false, 24, 70000, List.of(), Profile.DEFAULT),
                "cols");
    }

    @Test
    void zeroWindowIsFineForPipes() throws Exception {
        ChildIo.Run r = ChildIo.run(new SpawnSpec("true", List.of(), env(), null, null, false, 0, 0, List.of(),
                Profile.DEFAULT));
        assertEquals(0, r.status().code());
    }

    @Test
    void failedChildIsReapedByStart() throws Exception {
        Child probe = ChildIo.spawner().start(spec("true", env(), null, null, List.of()));
        assertTrue(ChildIo.readable(probe.pidfd(), 20_000));
        assertTrue(childrenOfThisJvm().contains(String.valueOf(probe.pid())), "the probe sees a zombie");
        ExitStatus.waitFor(probe.pid());
        Os.libc().close(probe.stdinFd());
        ChildIo.closeRest(probe);

        Set<String> before = childrenOfThisJvm();
        SpawnFailure thrown = assertThrows(SpawnFailure.class,
                () -> ChildIo.spawner().start(spec("agentd-no-such-command", env(), null, null,
                        List.of())));
        assertTrue(thrown.getMessage().startsWith("not_found at execve"), thrown.getMessage());
        assertEquals(before, childrenOfThisJvm(), "no zombie left behind");
    }

    /** Pids of this JVM's children, zombies included. */
    private static Set<String> childrenOfThisJvm() throws IOException {
        Set<String> pids = new HashSet<>();
        JvmChildren.pids().forEach(pid -> pids.add(String.valueOf(pid)));
        return pids;
    }

    private static void assertBadArgs(SpawnSpec spec, String field) {
        ExecFailed f = failure(spec);
        assertEquals("bad_args", f.kind(), f.message());
        assertTrue(f.message().contains(field), "message names " + field + ": " + f.message());
        assertEquals("validate", f.stage());
    }
}
