package io.agentd.protocol;

/**
 * The limits on a core.fs.request (docs/PROTOCOL-EXTENSIONS.md, "fs extensions", "Request limits").
 * The codec enforces them while it decodes the request, before a path is built
 * ({@link ErrorKind#LIMIT_EXCEEDED}, answered with core.error invalid_payload on the request's id).
 */
public final class FsLimits {
    /** Bytes of every path field: PATH_MAX, the longest path the kernel resolves. */
    public static final int PATH_MAX_BYTES = 4096;
    /** Bytes of the {@code user} extension, as in core.exec.request. */
    public static final int USER_MAX_BYTES = ExecLimits.USER_MAX_BYTES;
    /** Entries a ReadDir answers at most when its {@code limit} is null. */
    public static final int READ_DIR_DEFAULT = 128;
    /** Largest core.fs.data chunk the protocol allows (the reference's 3 MiB). */
    public static final int DATA_CHUNK_MAX = 3 * 1024 * 1024;

    private FsLimits() {}
}
