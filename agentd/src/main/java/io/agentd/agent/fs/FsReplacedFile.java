package io.agentd.agent.fs;

import io.agentd.agent.sys.FileType;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * The regular file an atomic upload replaces: its mode, owner and group, which the upload's
 * temporary file takes before it is renamed over it. An in-place write keeps them (open(2) with
 * O_TRUNC); a rename gives the path a new inode, made by the agent (root:root, 0644), so without
 * this an upload over a user's private 0600 file would leave it world-readable. OpenFile's
 * {@code mode} is for a file the open creates, as open(2)'s is: over an existing file the old mode
 * stays (agentctl cp sends the source's mode with every upload; cp -a sets it afterwards). Hard
 * links to the old file keep the old file: a rename cannot carry them over.
 */
record FsReplacedFile(int mode, int uid, int gid) {

    /** The regular file at {@code path} (not following a link), or null: none, or not a regular file. */
    static FsReplacedFile at(Path path) {
        try {
            Map<String, Object> a = Files.readAttributes(path, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            if (FileType.of(mode) != FileType.S_IFREG) {
                return null;
            }
            return new FsReplacedFile(mode & 07777, (Integer) a.get("uid"), (Integer) a.get("gid"));
        } catch (IOException | UnsupportedOperationException e) {
            return null; // nothing there (or nothing readable): the upload creates a new file
        }
    }

    /**
     * Gives the open temporary file this file's owner and group where the agent may (root may; a
     * user may give its own file a group it is in, and an owner it may not set is left as it is),
     * then its mode; chown first, as it clears set-id bits. Through the descriptor, never the
     * temporary file's name: that name is in the destination's directory, where whoever may write
     * there can put a link to another file in its place between the create and these calls, and
     * chown(2) and chmod(2) follow links (a root upload would have given that file the old file's
     * owner and mode).
     */
    void applyTo(FileChannel temp) throws FsFailure {
        int fd = ChannelDescriptor.fd(temp);
        if (fd < 0) {
            throw new FsFailure(FsFailure.EIO, "the temporary file's descriptor is unknown on this JDK");
        }
        Os.libc().fchown(fd, -1, gid); // EPERM: the user's rights do not allow it; the file stays the user's own
        Os.libc().fchown(fd, uid, -1);
        if (Os.libc().fchmod(fd, mode) != 0) {
            throw FsFailure.of(Os.errno(), "fchmod");
        }
    }
}
