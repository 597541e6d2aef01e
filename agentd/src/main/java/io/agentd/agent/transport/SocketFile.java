package io.agentd.agent.transport;

import io.agentd.agent.sys.FileType;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The socket file at a path, held by an O_PATH descriptor opened without following a link, so that
 * what is checked is what is changed. Whoever may write the socket's directory (a strict root
 * session, when it is root's) can swap the name for a link or another file at any moment: a check
 * by path and a chmod by path then land on different files, and a chmod follows links (a victim
 * file got mode 0666). The descriptor names one file from the open on: its type and owner are read
 * through /proc/self/fd/N (the stat of the file itself, not of a link to it), and its group and mode
 * are set through that same N (what glibc's fchmodat with AT_SYMLINK_NOFOLLOW does), so they go on
 * that socket or on nothing. Opening with O_PATH opens nothing: no wait on a FIFO, no device opened.
 */
final class SocketFile implements AutoCloseable {
    private final int fd;
    /** /proc/self/fd/N: the file the descriptor names, whatever the path names now. */
    private final Path named;
    /** The socket's device and inode (the JDK's file key): which socket this is. */
    private final Object identity;

    private SocketFile(int fd, Object identity) {
        this.fd = fd;
        this.named = Path.of("/proc/self/fd/" + fd);
        this.identity = identity;
    }

    /**
     * The socket at {@code path}, refused (an IOException saying what is there instead) when it is
     * not a socket or not owned by {@code ownUid}: bind made it with the agent's uid, so a socket of
     * another owner was put there by someone else.
     *
     * @param whatItShouldBe the message's words for the socket expected ("the socket just bound")
     */
    static SocketFile open(Path path, int ownUid, String whatItShouldBe) throws IOException {
        int fd = Os.libc().open(Os.cString(path.toString()), LibC.O_PATH | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException(path + " is no longer " + whatItShouldBe + " (open: "
                    + Os.errnoName(Os.errno()) + "); not served");
        }
        try {
            Map<String, Object> stat = Files.readAttributes(Path.of("/proc/self/fd/" + fd), "unix:mode,uid,fileKey");
            int mode = (Integer) stat.get("mode");
            if (FileType.of(mode) != FileType.S_IFSOCK) {
                throw new IOException(path + " is no longer " + whatItShouldBe + " (now " + FileType.describe(mode)
                        + "); not served");
            }
            int uid = (Integer) stat.get("uid");
            if (uid != ownUid) {
                throw new IOException(path + " is no longer " + whatItShouldBe + " (now a socket of uid "
                        + Integer.toUnsignedString(uid) + "); not served");
            }
            return new SocketFile(fd, stat.get("fileKey"));
        } catch (IOException | RuntimeException e) {
            Os.close(fd);
            throw e;
        }
    }

    /** The socket's device and inode, to tell it from another file later put at its path. */
    Object identity() {
        return identity;
    }

    /** Gives the socket the group {@code group} (by name); its gid. */
    int setGroup(String group) throws IOException {
        GroupPrincipal principal = named.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        // The view follows /proc/self/fd/N to the socket itself: the chown(2) of that file.
        Files.getFileAttributeView(named, PosixFileAttributeView.class).setGroup(principal);
        return (Integer) Files.getAttribute(named, "unix:gid");
    }

    /** Sets the socket's mode exactly, whatever the umask took from it at the bind. */
    void setMode(int mode) throws IOException {
        Files.setPosixFilePermissions(named, permissions(mode));
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ (0400) ... OTHERS_EXECUTE (0001)
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                set.add(bits[i]);
            }
        }
        return set;
    }

    @Override
    public void close() {
        Os.close(fd);
    }
}
