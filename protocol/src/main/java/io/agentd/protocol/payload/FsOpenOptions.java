package io.agentd.protocol.payload;

/**
 * How OpenFile opens a file: the meanings of Rust's {@code OpenOptions} (append implies write;
 * create and truncate need write; create_new fails on an existing file). {@code mode} is the u32
 * permission bits of a created file (null: 0666 & ~umask).
 *
 * @param atomic extension (docs/PROTOCOL-EXTENSIONS.md, "fs extensions"): the writes go to a temporary
 *               file beside the destination, which replaces it only at the final close of a complete
 *               upload; omitted when false
 */
public record FsOpenOptions(boolean read, boolean write, boolean append, boolean create, boolean truncate,
                            boolean createNew, Long mode, boolean atomic) {

    /** Options as the reference sends them (no atomic upload). */
    public FsOpenOptions(boolean read, boolean write, boolean append, boolean create, boolean truncate,
                         boolean createNew, Long mode) {
        this(read, write, append, create, truncate, createNew, mode, false);
    }

    /** Read only. */
    public static FsOpenOptions reading() {
        return new FsOpenOptions(true, false, false, false, false, false, null);
    }

    /** Write, create, truncate: what an upload opens its destination with. */
    public static FsOpenOptions replacing(Long mode) {
        return new FsOpenOptions(false, true, false, true, true, false, mode);
    }
}
