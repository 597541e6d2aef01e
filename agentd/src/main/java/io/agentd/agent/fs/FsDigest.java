package io.agentd.agent.fs;

import java.nio.ByteBuffer;

/**
 * The SHA-256 of a transfer's bytes, for the {@code sha256} extension field: updated on the worker
 * that reads or writes the chunks, ended with {@link #hex} when the transfer succeeds or with
 * {@link #close} when it fails or is aborted (either may come from the loop thread while a worker
 * still updates it, so the native one guards its context).
 */
abstract class FsDigest {
    /**
     * A transfer's digest: from libcrypto when it loaded, else from the JDK ({@link Sha256Source}),
     * made on its first update ({@link DeferredSha256}), so the loop can call this.
     */
    static FsDigest sha256() {
        return new DeferredSha256();
    }

    /** Adds the bytes between {@code data}'s position and limit; its position does not move. */
    abstract void update(ByteBuffer data);

    /** The digest in lowercase hex; the digest is spent. */
    abstract String hex();

    /** Drops the digest unfinished; again, or after {@link #hex}, does nothing. */
    abstract void close();
}
