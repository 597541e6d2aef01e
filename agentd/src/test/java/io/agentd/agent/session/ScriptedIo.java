package io.agentd.agent.session;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The kernel as a test scripts it, behind {@link SessionIo}: what each fd holds to be read (and
 * whether its writers are gone), how much each fd takes when written, which process groups have
 * members, which pids exited. It records closes (so a test sees each fd closed exactly once),
 * signals and writes.
 */
final class ScriptedIo implements SessionIo {
    private final Map<Integer, Deque<byte[]>> readable = new HashMap<>();
    private final Set<Integer> atEof = new HashSet<>();
    private final Map<Integer, Integer> writeRoom = new HashMap<>();
    private final Map<Integer, Integer> writeErrno = new HashMap<>();
    private final Map<Integer, ByteArrayOutputStream> written = new HashMap<>();
    private final Map<Integer, Integer> closes = new HashMap<>();
    private final Set<Integer> liveGroups = new HashSet<>();
    /** Pids a process holds now, as kill(pid, 0) would find them (none unless a test says so). */
    private final Set<Integer> liveProcesses = new HashSet<>();
    private final Map<Integer, Integer> exited = new HashMap<>();
    /** Exits a leader begins by itself as its group is signalled (status by pid), taken at that signal. */
    private final Map<Integer, Integer> exitsAsSignalled = new HashMap<>();
    private final java.util.Set<Integer> sigtermHandlers = new java.util.HashSet<>();
    final List<String> signals = new ArrayList<>();
    /** TIOCSWINSZ calls, as fd:rows:cols. */
    final List<String> resizes = new ArrayList<>();

    /** {@code bytes} wait to be read from {@code fd}. */
    ScriptedIo output(int fd, String text) {
        readable.computeIfAbsent(fd, k -> new ArrayDeque<>()).add(text.getBytes());
        return this;
    }

    /** Every writer of {@code fd} is gone: once it is read dry, read returns 0. */
    ScriptedIo eof(int fd) {
        atEof.add(fd);
        return this;
    }

    /** {@code fd} takes {@code bytes} more before it would block. */
    ScriptedIo room(int fd, int bytes) {
        writeRoom.put(fd, bytes);
        return this;
    }

    /** Writes to {@code fd} fail with {@code errno}. */
    ScriptedIo failWrites(int fd, int errno) {
        writeErrno.put(fd, errno);
        return this;
    }

    ScriptedIo groupAlive(int pgid, boolean alive) {
        if (alive) {
            liveGroups.add(pgid);
        } else {
            liveGroups.remove(pgid);
        }
        return this;
    }

    /** A process holds {@code pid} (a new one given a number that came free), or none does. */
    ScriptedIo processAlive(int pid, boolean alive) {
        if (alive) {
            liveProcesses.add(pid);
        } else {
            liveProcesses.remove(pid);
        }
        return this;
    }

    /** {@code pid} exited with {@code code}: the next waitpid for it (or for any) reaps it. */
    ScriptedIo exit(int pid, int code) {
        exited.put(pid, (code & 0xff) << 8);
        return this;
    }

    /**
     * {@code pid} exits with {@code code} by itself just as the next signal to its group is sent:
     * the exit has begun when the signal comes, so it ends with its own code.
     */
    ScriptedIo exitsAsItsGroupIsSignalled(int pid, int code) {
        exitsAsSignalled.put(pid, (code & 0xff) << 8);
        return this;
    }

    /** {@code pid} catches SIGTERM (a handler): its exit with a code after one is its answer to it. */
    ScriptedIo handlesSigterm(int pid) {
        sigtermHandlers.add(pid);
        return this;
    }

    /** {@code pid} was killed by {@code signal}. */
    ScriptedIo killedBy(int pid, int signal) {
        exited.put(pid, signal & 0x7f);
        return this;
    }

    int closes(int fd) {
        return closes.getOrDefault(fd, 0);
    }

    String written(int fd) {
        ByteArrayOutputStream out = written.get(fd);
        return out == null ? "" : out.toString();
    }

    @Override
    public int read(int fd, ByteBuffer buf) throws OsException {
        assertOpen(fd);
        Deque<byte[]> q = readable.get(fd);
        if (q == null || q.isEmpty()) {
            return atEof.contains(fd) ? 0 : Os.WOULD_BLOCK;
        }
        byte[] head = q.poll();
        int n = Math.min(head.length, buf.remaining());
        buf.put(head, 0, n);
        if (n < head.length) {
            byte[] rest = new byte[head.length - n];
            System.arraycopy(head, n, rest, 0, rest.length);
            q.addFirst(rest);
        }
        return n;
    }

    @Override
    public int write(int fd, ByteBuffer buf, int maxBytes) throws OsException {
        assertOpen(fd);
        Integer errno = writeErrno.get(fd);
        if (errno != null) {
            throw new OsException("write", errno);
        }
        int room = writeRoom.getOrDefault(fd, Integer.MAX_VALUE);
        int n = Math.min(Math.min(buf.remaining(), maxBytes), room);
        if (n == 0) {
            return Os.WOULD_BLOCK;
        }
        byte[] bytes = new byte[n];
        buf.get(bytes);
        written.computeIfAbsent(fd, k -> new ByteArrayOutputStream()).writeBytes(bytes);
        if (room != Integer.MAX_VALUE) {
            writeRoom.put(fd, room - n);
        }
        return n;
    }

    @Override
    public int bytesReadable(int fd) {
        Deque<byte[]> q = readable.get(fd);
        return q == null ? 0 : q.stream().mapToInt(b -> b.length).sum();
    }

    @Override
    public boolean resizePipe(int fd, int bytes) {
        return true;
    }

    @Override
    public void close(int fd) {
        if (fd >= 0) {
            closes.merge(fd, 1, Integer::sum);
        }
    }

    @Override
    public int killGroup(int pgid, int signal) {
        signals.add(pgid + ":" + signal);
        Integer ownExit = exitsAsSignalled.remove(pgid);
        if (ownExit != null) {
            exited.put(pgid, ownExit);
        }
        return liveGroups.contains(pgid) ? 0 : LibC.ESRCH;
    }

    @Override
    public boolean groupAlive(int pgid) {
        return liveGroups.contains(pgid);
    }

    @Override
    public boolean processAlive(int pid) {
        return liveProcesses.contains(pid);
    }

    @Override
    public int waitpid(int pid, int[] status) {
        Integer reaped = pid == -1 ? exited.keySet().stream().findFirst().orElse(null)
                : (exited.containsKey(pid) ? pid : null);
        if (reaped == null) {
            return 0;
        }
        status[0] = exited.remove(reaped);
        return reaped;
    }

    @Override
    public boolean takesSigtermItself(int pid) {
        return sigtermHandlers.contains(pid);
    }

    /** An exit scripted and not reaped yet is a zombie's, whose exit has begun. */
    @Override
    public boolean exitBegun(int pid) {
        return exited.containsKey(pid);
    }

    @Override
    public int setWindowSize(int masterFd, int rows, int cols) {
        resizes.add(masterFd + ":" + rows + ":" + cols);
        return closes(masterFd) > 0 ? 9 /* EBADF */ : 0;
    }

    private void assertOpen(int fd) {
        if (closes(fd) > 0) {
            throw new AssertionError("fd " + fd + " used after it was closed");
        }
    }
}
