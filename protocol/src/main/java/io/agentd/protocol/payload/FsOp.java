package io.agentd.protocol.payload;

/**
 * The {@code op} of a core.fs.request (PROTOCOL.md, "fs family"): one record per variant of the
 * reference's {@code FsOp}, written on the wire with external tagging ({@code {"Stat": {...}}}).
 * Paths are text as sent; the agent decides what it accepts (absolute paths only). u64 and u32
 * values are longs holding the unsigned value; a null {@code Long} is the wire's null.
 */
public sealed interface FsOp {

    /** The variant's name on the wire (the key of the one-entry map). */
    String variant();

    /** Canonical absolute path of {@code path}: answer {"Path": text}. */
    record RealPath(String path) implements FsOp {
        public String variant() { return "RealPath"; }
    }

    /** Metadata of {@code path} (of the link itself unless {@code followSymlink}): answer {"Stat": ...}. */
    record Stat(String path, boolean followSymlink) implements FsOp {
        public String variant() { return "Stat"; }
    }

    /** Changes the attributes {@code attrs} sets; the others are left alone. */
    record SetStat(String path, boolean followSymlink, FsSetAttrs attrs) implements FsOp {
        public String variant() { return "SetStat"; }
    }

    /** The entries of the directory {@code path}: answer {"List": [...]} ("List" on the wire). */
    record ListDir(String path) implements FsOp {
        public String variant() { return "List"; }
    }

    /** The target of the symbolic link {@code path}: answer {"Path": target}. */
    record ReadLink(String path) implements FsOp {
        public String variant() { return "ReadLink"; }
    }

    /** Creates the symbolic link {@code linkPath} pointing at {@code target}. */
    record Symlink(String target, String linkPath) implements FsOp {
        public String variant() { return "Symlink"; }
    }

    /** Creates the directory {@code path} and its missing parents; {@code mode} null: 0777 & ~umask. */
    record Mkdir(String path, Long mode) implements FsOp {
        public String variant() { return "Mkdir"; }
    }

    /** Removes a file or a link. */
    record Remove(String path) implements FsOp {
        public String variant() { return "Remove"; }
    }

    /** Removes a directory, with everything in it when {@code recursive}. */
    record RemoveDir(String path, boolean recursive) implements FsOp {
        public String variant() { return "RemoveDir"; }
    }

    /** Copies a file or a directory tree inside the guest. */
    record Copy(String src, String dst) implements FsOp {
        public String variant() { return "Copy"; }
    }

    /** Renames {@code src} to {@code dst}. */
    record Rename(String src, String dst) implements FsOp {
        public String variant() { return "Rename"; }
    }

    /** Opens a file: answer {"Handle": u64}. */
    record OpenFile(String path, FsOpenOptions options) implements FsOp {
        public String variant() { return "OpenFile"; }
    }

    /** Opens a directory for ReadDir: answer {"Handle": u64}. */
    record OpenDir(String path) implements FsOp {
        public String variant() { return "OpenDir"; }
    }

    /** Closes a handle. */
    record CloseHandle(long handle) implements FsOp {
        public String variant() { return "CloseHandle"; }
    }

    /**
     * Reads from {@code offset}, {@code len} bytes at most (null: to the end): the agent sends
     * core.fs.data chunks on the request's id, then the response.
     */
    record Read(long handle, long offset, Long len) implements FsOp {
        public String variant() { return "Read"; }
    }

    /**
     * Writes at {@code offset} what the host sends next as core.fs.data chunks, up to an empty one;
     * {@code len} is the byte count the host promises (null: unchecked).
     *
     * @param window extension (docs/PROTOCOL-EXTENSIONS.md, "fs extensions"): the host sends data only
     *               within the credit the agent grants with core.fs.credit; omitted when false
     */
    record Write(long handle, long offset, Long len, boolean window) implements FsOp {
        /** A write as the reference sends it (no flow control). */
        public Write(long handle, long offset, Long len) {
            this(handle, offset, len, false);
        }

        public String variant() { return "Write"; }
    }

    /** The next entries of a directory handle, {@code limit} at most (null: 128); empty at the end. */
    record ReadDir(long handle, Long limit) implements FsOp {
        public String variant() { return "ReadDir"; }
    }

    /** Metadata of an open handle. */
    record FStat(long handle) implements FsOp {
        public String variant() { return "FStat"; }
    }

    /** Changes the attributes of an open handle. */
    record FSetStat(long handle, FsSetAttrs attrs) implements FsOp {
        public String variant() { return "FSetStat"; }
    }
}
