package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.MountInfo;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.Rlimit;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Why an execve failed, in words, for the core.exec.failed message: the errno alone misleads where
 * the kernel reuses it. A directory or a file without an x bit is EACCES, "Permission denied"; a
 * script whose #! interpreter is missing (a CRLF line end, "/bin/sh\r") is ENOENT, "No such file or
 * directory" for a file that is there; one argument over the kernel's limit for a string is E2BIG,
 * "Argument list too long", for a list far under the limit for all. Looked at by the agent after
 * the failure, with its own rights: a hint for the reader, which never changes the kind, the errno
 * or the stage.
 */
final class ExecDiagnosis {
    /** Bytes of a script read for its #! line (the kernel reads 256). */
    private static final int SHEBANG_BYTES = 256;
    /**
     * PATH entries looked at for a name, at most: a host's PATH may hold 600,000 (2 MiB), which the
     * child's search already took a second over, on the spawner thread.
     */
    private static final int MAX_PATH_DIRS = 256;
    /** Linux's MAX_ARG_STRLEN on 4 KiB pages: one argv or envp string, its NUL included. */
    private static final int MAX_ARG_STRLEN = 32 * 4096;
    /**
     * Characters of a path or PATH shown: a hint that names a file must name it whole (the codec's
     * 64 cut a checkout's paths in half), yet host text in a reply stays bounded.
     */
    private static final int QUOTE_MAX = 512;

    private ExecDiagnosis() {}

    /**
     * The reason for {@code errnoName} at execve, as " (...)" to follow "exec failed", or "" when
     * there is nothing to add.
     */
    static String of(SpawnSpec spec, String errnoName) {
        if (errnoName == null) {
            return "";
        }
        try {
            return switch (errnoName) {
                case "EACCES" -> notRunnable(program(spec), spec);
                case "ENOENT" -> missingInterpreter(program(spec), spec);
                case "ENOTDIR" -> " (a component of the command's path is not a directory)";
                case "ENOEXEC" -> " (not a binary this kernel runs, and no #! line)";
                case "E2BIG" -> tooLongString(spec);
                case "EAGAIN" -> tooManyProcesses(spec);
                default -> "";
            };
        } catch (IOException | RuntimeException unreadable) {
            // Gone or unreadable since the exec (InvalidPathException, SecurityException, ...): the
            // errno is all there is to say. A hint must never cost the host its core.exec.failed.
            return "";
        }
    }

    /**
     * The file execve tried: cmd itself when it has a '/' (relative to the cwd the child changed to,
     * the agent's own without one), else the first PATH entry holding something of that name (of the
     * first {@link #MAX_PATH_DIRS}); null when there is none.
     */
    private static Path program(SpawnSpec spec) {
        if (spec.cmd().indexOf('/') >= 0) {
            Path cmd = Path.of(spec.cmd());
            return spec.cwd() == null ? cmd : Path.of(spec.cwd()).resolve(cmd);
        }
        String[] dirs = Spawner.searchPath(spec.env()).split(":", MAX_PATH_DIRS + 1);
        for (String dir : Arrays.copyOf(dirs, Math.min(dirs.length, MAX_PATH_DIRS))) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir).resolve(spec.cmd());
            if (spec.cwd() != null) {
                candidate = Path.of(spec.cwd()).resolve(candidate);
            }
            if (Files.exists(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** EACCES: a directory, or a regular file no one may execute. */
    private static String notRunnable(Path program, SpawnSpec spec) throws IOException {
        if (program == null) {
            return "";
        }
        if (Files.isDirectory(program)) {
            return " (" + named(program, spec) + "is a directory)";
        }
        if (Files.isRegularFile(program)) {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(program);
            if (!p.contains(PosixFilePermission.OWNER_EXECUTE) && !p.contains(PosixFilePermission.GROUP_EXECUTE)
                    && !p.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                return " (" + named(program, spec) + "has no execute permission)";
            }
            String mount = noexecMountOf(program.toRealPath(), Files.readAllLines(MOUNTINFO));
            if (mount != null) {
                return " (" + named(program, spec) + "is on " + quote(mount) + ", mounted noexec)";
            }
        }
        return "";
    }

    /** The agent's mounts: what the child saw, unless a confined profile gave it a namespace of its own. */
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    /**
     * The mount point holding {@code file} (a real path) when that mount is noexec, else null:
     * the mount is the last one listed (the one on top) at the longest mount point that is a prefix
     * of the path. Fields of a mountinfo line: the mount point is the fifth, with space, tab,
     * newline and backslash as octal escapes, and the mount's own options the sixth.
     */
    static String noexecMountOf(Path file, List<String> mountinfo) {
        String best = null;
        boolean noexec = false;
        for (String line : mountinfo) {
            String[] fields = line.split(" ");
            if (fields.length < 6) {
                continue;
            }
            String point = MountInfo.unescape(fields[4]);
            if (file.startsWith(Path.of(point)) && (best == null || point.length() >= best.length())) {
                best = point;
                noexec = Arrays.asList(fields[5].split(",")).contains("noexec");
            }
        }
        return noexec ? best : null;
    }

    /** ENOENT for a file that is there: what is missing is its interpreter; for a name, where it was searched. */
    private static String missingInterpreter(Path program, SpawnSpec spec) throws IOException {
        if (program == null) {
            return " (not found in PATH " + quote(Spawner.searchPath(spec.env())) + ")";
        }
        if (!Files.isRegularFile(program)) {
            return "";
        }
        byte[] head = readHead(program);
        if (head.length == 0) {
            return ""; // no longer a regular file (a command swapped it): nothing to say of it
        }
        if (head.length < 2 || head[0] != '#' || head[1] != '!') {
            return " (" + named(program, spec) + "exists: its ELF interpreter, the dynamic loader, is missing)";
        }
        String line = new String(head, 2, head.length - 2, StandardCharsets.UTF_8);
        int end = line.indexOf('\n');
        String interpreter = (end < 0 ? line : line.substring(0, end)).stripLeading().split("[ \t]", 2)[0];
        return " (" + named(program, spec) + "exists: its #! interpreter " + quote(interpreter) + " is missing)";
    }

    /**
     * E2BIG for a request under the 2 MiB of the request limits: one string past the kernel's limit
     * for each (MAX_ARG_STRLEN, 32 pages with its NUL), named with its length.
     */
    private static String tooLongString(SpawnSpec spec) {
        List<String> args = spec.args();
        for (int i = 0; i < args.size(); i++) {
            int bytes = args.get(i).getBytes(StandardCharsets.UTF_8).length;
            if (bytes >= MAX_ARG_STRLEN) {
                return " (args[" + i + "] is " + bytes + " bytes; the kernel takes at most " + (MAX_ARG_STRLEN - 1)
                        + " in one argument)";
            }
        }
        for (String entry : spec.env()) {
            int bytes = entry.getBytes(StandardCharsets.UTF_8).length;
            if (bytes >= MAX_ARG_STRLEN) {
                int eq = entry.indexOf('=');
                return " (env " + quote(eq < 0 ? entry : entry.substring(0, eq)) + " is " + bytes
                        + " bytes; the kernel takes at most " + (MAX_ARG_STRLEN - 1) + " in one entry)";
            }
        }
        return "";
    }

    /**
     * EAGAIN: execve's only one is RLIMIT_NPROC, checked at the exec that follows a switch of user
     * (the switch itself no longer fails for it): the user already had more processes than the
     * limit (the request's nproc when it gave one). Root's processes are never counted.
     */
    private static String tooManyProcesses(SpawnSpec spec) {
        String limit = " RLIMIT_NPROC";
        for (Rlimit r : spec.rlimits()) {
            if (r.resource().equals("nproc")) {
                limit = " RLIMIT_NPROC of " + Long.toUnsignedString(r.soft());
            }
        }
        String user = spec.user() == null ? "the user" : "user " + quote(spec.user());
        return " (" + user + " already runs more processes than its" + limit + "; the kernel checks it"
                + " at the exec after the switch of user)";
    }

    /**
     * The file's first bytes, or none when it is not a regular file now. A command can swap the
     * regular file checked above for a FIFO, whose blocking open would stop the spawner thread (and
     * every later command) until a writer came, or for a link to a device, which the agent (root) would open
     * (a watchdog opened and closed reboots the guest). So the path is named by an O_PATH
     * descriptor (which opens nothing), its type read through /proc/self/fd/N, and only a regular
     * file opened, through that same N, non-blocking.
     */
    static byte[] readHead(Path program) throws IOException {
        LibC libc = Os.libc();
        int named = libc.open(Os.cString(program.toString()), LibC.O_PATH | LibC.O_CLOEXEC, 0);
        if (named < 0) {
            throw new IOException("open: " + Os.errnoName(Os.errno()));
        }
        try {
            Path self = Path.of("/proc/self/fd/" + named);
            if (!Files.isRegularFile(self)) {
                return new byte[0];
            }
            int fd = libc.open(Os.cString(self.toString()), LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("open: " + Os.errnoName(Os.errno()));
            }
            try {
                byte[] buf = new byte[SHEBANG_BYTES];
                long n = libc.read(fd, buf, buf.length);
                return n <= 0 ? new byte[0] : Arrays.copyOf(buf, (int) n);
            } finally {
                libc.close(fd);
            }
        } finally {
            libc.close(named);
        }
    }

    /** "the file " for cmd itself, the quoted path for a file found in PATH. */
    private static String named(Path program, SpawnSpec spec) {
        return spec.cmd().indexOf('/') >= 0 ? "the file " : quote(program.toString()) + " ";
    }

    private static String quote(String text) {
        return HostText.quote(text, QUOTE_MAX);
    }
}
