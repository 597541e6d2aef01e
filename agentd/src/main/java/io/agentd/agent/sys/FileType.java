package io.agentd.agent.sys;

/**
 * The file type bits of a mode (st_mode &amp; S_IFMT), as the JDK's {@code unix:mode} attribute gives
 * them, and the words a message uses for each.
 */
public final class FileType {
    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFIFO = 0010000;

    private FileType() {}

    /** The type bits of {@code mode}. */
    public static int of(int mode) {
        return mode & S_IFMT;
    }

    /** What a file of {@code mode} is, for a message: "a FIFO", "a regular file", ... */
    public static String describe(int mode) {
        return switch (of(mode)) {
            case S_IFIFO -> "a FIFO";
            case S_IFSOCK -> "a socket";
            case S_IFCHR -> "a character device";
            case S_IFBLK -> "a block device";
            case S_IFLNK -> "a symbolic link";
            case S_IFREG -> "a regular file";
            case S_IFDIR -> "a directory";
            default -> "a file of type " + Integer.toOctalString(of(mode));
        };
    }
}
