package io.agentd.agent.session;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live sessions' process groups, one small file per group in the state directory, kept so that
 * they outlive the agent: an agent that dies of a fatal error cannot kill its sessions, and the
 * guest's init starts a new one, which kills them ({@link #killLeftovers}) before it serves anyone.
 *
 * <p>A record is written when a session's group starts and removed once the group has no member
 * left ({@link #pruneGone}, from the reaper's sweep), lingering groups included. When the directory
 * cannot be created or written the agent says so once and keeps no records. Loop thread only (and
 * the start-up before the loop runs).
 */
public final class SessionGroupRecords {
    private static final Logger log = LoggerFactory.getLogger(SessionGroupRecords.class);
    private static final int O_WRONLY = 01;
    private static final int O_CREAT = 0100;
    private static final int O_TRUNC = 01000;

    /** How long the start waits for killed processes to be gone, so that ready means they are. */
    private static final long KILL_WAIT_MILLIS = 2000;

    private final Path dir;
    private final long agentPid;
    private final long agentStartTicks;
    /** Groups with a record written by this agent. */
    private final Set<Integer> recorded = new HashSet<>();
    private boolean writeFailureLogged;

    private SessionGroupRecords(Path dir, long agentPid, long agentStartTicks) {
        this.dir = dir;
        this.agentPid = agentPid;
        this.agentStartTicks = agentStartTicks;
    }

    /** Records that keep nothing (no state directory). */
    public static SessionGroupRecords none() {
        return new SessionGroupRecords(null, 0, 0);
    }

    /**
     * The records in {@code dir}, created (mode 0755: it may also hold the agent's socket, which
     * users other than the agent's connect to) if missing, for this agent process; when the
     * directory cannot be made or written, one warning and records that keep nothing.
     */
    public static SessionGroupRecords open(Path dir) {
        long pid = ProcessHandle.current().pid();
        long startTicks = SessionGroupRecord.startTicksOf(pid);
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwxr-xr-x")));
            }
            Path probe = Files.writeString(dir.resolve(".probe-" + pid), "");
            Files.delete(probe);
        } catch (IOException | UnsupportedOperationException e) {
            log.warn("state directory {} cannot be used ({}): the process groups of sessions are not recorded, "
                    + "and if this agent dies, the next one cannot kill what it left running", dir, e.toString());
            return none();
        }
        if (startTicks == SessionGroupRecord.NO_PROCESS) {
            log.warn("cannot read this agent's start time: the process groups of sessions are not recorded");
            return none();
        }
        return new SessionGroupRecords(dir, pid, startTicks);
    }

    public boolean enabled() {
        return dir != null;
    }

    /**
     * At start, before serving: SIGKILL to the group of every record left by an agent that is no
     * longer running, unless its pid now belongs to another process (a different start time: a pid
     * cannot be reused while it is still some process's group id, so the group is gone), then the
     * record is removed. Records of an agent still running are left to it.
     *
     * @return how many groups were sent SIGKILL
     */
    public int killLeftovers() {
        if (dir == null) {
            return 0;
        }
        int records = 0;
        Set<Integer> killed = new HashSet<>();
        int reused = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, SessionGroupRecords::isRecordName)) {
            for (Path file : files) {
                SessionGroupRecord r;
                try {
                    r = SessionGroupRecord.parse(Files.readString(file, StandardCharsets.US_ASCII));
                } catch (IOException | IllegalArgumentException e) {
                    log.warn("unreadable session group record {} removed: {}", file, e.getMessage());
                    deleteQuietly(file);
                    continue;
                }
                if (r.ownerAlive()) {
                    continue;
                }
                records++;
                long now = SessionGroupRecord.startTicksOf(r.pgid());
                if (now != SessionGroupRecord.NO_PROCESS && now != r.startTicks()) {
                    reused++;
                } else if (Os.killGroup(r.pgid(), LibC.SIGKILL) == 0) {
                    killed.add(r.pgid());
                }
                deleteQuietly(file);
            }
        } catch (IOException e) {
            log.warn("cannot read the session group records in {}: {}", dir, e.getMessage());
        }
        boolean allGone = killed.isEmpty() || ProcessGroups.awaitGone(killed, KILL_WAIT_MILLIS);
        if (records > 0) {
            log.info("killed {} process group(s) left running by an agent that died ({} record(s); {} group(s) "
                    + "already gone, {} pid(s) reused by another process){}", killed.size(), records,
                    records - killed.size() - reused, reused,
                    allGone ? "" : "; some killed processes still exist after " + KILL_WAIT_MILLIS + " ms");
        }
        return killed.size();
    }

    /** A session's process group {@code pgid} started (its leader is this agent's unreaped child). */
    public void started(int pgid) {
        if (dir == null) {
            return;
        }
        long startTicks = SessionGroupRecord.startTicksOf(pgid);
        if (startTicks == SessionGroupRecord.NO_PROCESS) {
            return; // only a leader reaped already, whose group is gone, has no stat to read
        }
        byte[] line = new SessionGroupRecord(pgid, startTicks, agentPid, agentStartTicks).format()
                .getBytes(StandardCharsets.US_ASCII);
        // One write(2) of a few bytes: a process killed in it still writes them whole, so no
        // temporary file and rename (which cost more than the rest of a session's bookkeeping).
        int err = writeFile(dir.resolve(Integer.toString(pgid)), line);
        if (err == 0) {
            recorded.add(pgid);
        } else if (!writeFailureLogged) {
            writeFailureLogged = true;
            log.warn("cannot record process group {} in {} ({}); later failures are not logged", pgid, dir,
                    Os.errnoName(err));
        }
    }

    /** Creates or replaces {@code file} with {@code content}; returns 0 or an errno. */
    private static int writeFile(Path file, byte[] content) {
        int fd = Os.libc().open(Os.cString(file.toString()), O_WRONLY | O_CREAT | O_TRUNC | LibC.O_CLOEXEC, 0644);
        if (fd < 0) {
            return Os.errno();
        }
        long n = Os.libc().write(fd, content, content.length);
        int err = n == content.length ? 0 : (n < 0 ? Os.errno() : LibC.EIO);
        Os.close(fd);
        return err;
    }

    /** Removes the records of groups with no member left. */
    public void pruneGone() {
        if (recorded.isEmpty()) {
            return;
        }
        recorded.removeIf(pgid -> {
            if (Os.groupAlive(pgid)) {
                return false;
            }
            deleteQuietly(dir.resolve(Integer.toString(pgid)));
            return true;
        });
    }

    /** Groups recorded and not yet found gone (tests). */
    int recordedCount() {
        return recorded.size();
    }

    private static boolean isRecordName(Path file) {
        String name = file.getFileName().toString();
        return !name.isEmpty() && name.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", file, e.getMessage());
        }
    }
}
