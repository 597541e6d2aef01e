package io.agentd.client.cli.cp;

import java.io.IOException;
import java.io.InputStream;
import java.util.function.LongConsumer;

/** The side cp writes to; paths are that side's, as text. Every failure is a {@link CopyFailure}. */
interface DestTree {

    /** What a side holds open while Copier writes in a directory ({@link #openParentOf}, {@link #enter}). */
    interface Held extends AutoCloseable {
        /** Lets go of it; nothing to report. */
        @Override
        void close();
    }

    Held NOTHING_HELD = () -> {};

    String show(String path);

    /**
     * The copy of one source operand to {@code target} begins (not the destination operand copied
     * into itself, {@code SRC/. DST}: Copier {@linkplain #enter enters} that one): a side may open
     * the directory {@code target} is in here, by its path, links followed as the user named it,
     * and write in it by handle until this is closed, when that copy is done. The host does
     * ({@link HostTree}); by default nothing is held.
     */
    default Held openParentOf(String target) throws IOException {
        return NOTHING_HELD;
    }

    /**
     * Copier goes into the directory {@code dir}, made or found there, to copy its entries; closed
     * after them, before its own attributes are set. A side may open it here, in the directory it
     * is in, never through a link: one put at its name since would otherwise take what goes below
     * it elsewhere (the host does; a guest's agent is asked by path). {@code operand}: {@code dir}
     * is the destination operand itself ({@code SRC/. DST}), opened by its path, a link followed.
     */
    default Held enter(String dir, boolean operand) throws IOException {
        return NOTHING_HELD;
    }

    /** The entry at {@code path}, a link followed (as cp(1) treats the destination operand), or null when there is none. */
    Entry stat(String path) throws IOException;

    /** The entry at {@code path} itself, a link as a link (as cp(1) treats what it copies into), or null. */
    Entry lstatIfAny(String path) throws IOException;

    /** Creates the directory with the permission bits of {@code source}, less the umask. */
    void mkdir(String path, Entry source) throws IOException;

    /**
     * Creates or replaces the file with the bytes of {@code in} (whole or not at all, where the side
     * allows), its permission bits those of {@code source} less the umask, or exactly with
     * {@code keep}, which also keeps its times.
     */
    void writeFile(String path, Entry source, boolean keep, InputStream in, LongConsumer progress) throws IOException;

    /**
     * As {@link #writeFile}, for the destination operand the user named when it is a special file
     * or a symbolic link to a non-directory: a side may write into it (the host: a device or FIFO,
     * or one a link points to, as cp(1) does); by default it is treated as any file there.
     */
    default void writeIntoOperand(String path, Entry source, boolean keep, InputStream in, LongConsumer progress)
            throws IOException {
        writeFile(path, source, keep, in, progress);
    }

    /**
     * Creates the symbolic link, replacing a file or link already there.
     *
     * @param link the source link's own entry (lstat): a tar carries its mtime; a file system's
     *             link has the time it is made
     */
    void symlink(String target, String path, Entry link) throws IOException;

    /**
     * Whether entries can be made only in a directory its owner may write and search, as on a file
     * system: a read-only directory (0555) is then made rwx for its owner until its contents are in,
     * and gets its own mode after them. A tar's directory is one header, written once: with its own
     * mode, as it needs no opening up.
     */
    default boolean fillsOnlyWritableDirectories() {
        return true;
    }

    /** Sets the permission bits (a directory made writable for its contents gets its own back). */
    void chmod(String path, long mode) throws IOException;

    /** Sets the exact mode and the times of {@code source} (after a directory's contents are in). */
    void keepAttributes(String path, Entry source) throws IOException;

    /**
     * As {@link #keepAttributes}, for the destination operand the user named, copied into as a
     * directory ({@code SRC/.}): a link there was followed to copy into, and is followed again, so
     * the directory it points to gets them, as cp -a gives them (a link's own mode cannot be set).
     * Everything below the operand is set through {@link #keepAttributes}, never through a link.
     */
    default void keepOperandAttributes(String path, Entry source) throws IOException {
        keepAttributes(path, source);
    }

    /**
     * The path of the entry {@code name} of directory {@code dir}.
     *
     * @throws IllegalArgumentException {@code name} is not one entry's name ({@link EntryNames#entryName}):
     *     never joined
     */
    String child(String dir, String name);

    /** The directory {@code path} is in. */
    String parent(String path);
}
