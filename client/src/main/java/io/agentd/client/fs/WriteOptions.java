package io.agentd.client.fs;

import io.agentd.protocol.payload.FsSetAttrs;

/**
 * How {@link GuestFiles#openWrite} writes a guest file.
 *
 * @param mode       permission bits of a file it creates (the agent's umask applies, as for
 *                   open(2)); null: 0666 less the umask
 * @param atomic     write to a temporary file beside it that replaces the file only when the stream
 *                   is closed after a complete write, so a reader never sees a part of it and a
 *                   failed or cut-short write leaves the old file (or none); only with an agent that
 *                   offers it ({@link GuestFiles#extensions()}), otherwise the file is written in place
 * @param finalAttrs attributes set on the file just before it is closed (after the last byte), for
 *                   an exact mode (without the umask) or kept times; null: none
 */
public record WriteOptions(Long mode, boolean atomic, FsSetAttrs finalAttrs) {
    /** Atomic where the agent supports it, default mode, nothing set at the end. */
    public static final WriteOptions DEFAULT = new WriteOptions(null, true, null);

    public WriteOptions withMode(Long m) {
        return new WriteOptions(m, atomic, finalAttrs);
    }

    public WriteOptions withAtomic(boolean a) {
        return new WriteOptions(mode, a, finalAttrs);
    }

    public WriteOptions withFinalAttrs(FsSetAttrs attrs) {
        return new WriteOptions(mode, atomic, attrs);
    }
}
