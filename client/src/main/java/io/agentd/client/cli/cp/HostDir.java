package io.agentd.client.cli.cp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * A host directory a download writes in, by entry name. Below the destination operand each is
 * opened relative to the one it is in, never through a link ({@link OpenHostDir}): a directory
 * this copy made or entered, swapped for a link since (by a guest through a shared folder, or by
 * another user who can write its parent), is not followed to where that link points.
 */
interface HostDir extends AutoCloseable {

    /** Where the directory was when opened, absolute (what messages say). */
    Path path();

    /**
     * A path naming the entry {@code name} of this directory, for the JDK's calls by name (mkdir,
     * symlink, stat, chmod, setting times): its directory part leads to this directory itself
     * wherever it can ({@link OpenHostDir}), so only a link at {@code name} itself could redirect
     * it, and those calls say whether they follow one.
     */
    Path entry(String name);

    /** The subdirectory {@code name}, opened in this one; a link there fails (it is not followed). */
    HostDir openChild(String name) throws IOException;

    /** Replaces {@code name} with the bytes of {@code in}, whole or not at all ({@link io.agentd.client.fs.LocalFiles#replace}). */
    long replace(String name, Set<PosixFilePermission> permissions, InputStream in, LongConsumer progress)
            throws IOException;

    /** Lets go of the directory (closing its descriptors); nothing to report. */
    @Override
    void close();

    /**
     * The directory the user named (or the one a destination the user named is in), opened by its
     * path, links followed as cp(1) follows them there. Held open where this JDK can
     * ({@link OpenHostDir#open}); one this process cannot read (a drop box, mode -wx) cannot be
     * opened, and is written in by its path ({@link NamedHostDir}), as is every directory where this
     * JDK has no directory handle.
     */
    static HostDir operand(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        try {
            HostDir open = OpenHostDir.open(absolute);
            return open != null ? open : new NamedHostDir(absolute, false);
        } catch (AccessDeniedException unreadable) {
            return new NamedHostDir(absolute, true);
        }
    }
}
