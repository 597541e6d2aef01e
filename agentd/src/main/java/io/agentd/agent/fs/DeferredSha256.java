package io.agentd.agent.fs;

import java.nio.ByteBuffer;

/**
 * The digest a transfer holds: the real one ({@link Sha256Source}) is made on the first update, on
 * the worker, because the first ever loads libcrypto and binds it through jnr, which on the C1-only
 * JIT takes long enough to be felt by every ping if the loop (where transfers are set up) did it.
 * Only the worker updates; the loop ends the digest, and a transfer with no bytes never made one.
 */
final class DeferredSha256 extends FsDigest {
    /** SHA-256 of no bytes. */
    static final String EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private FsDigest made; // guarded by this
    private boolean ended; // guarded by this

    @Override
    void update(ByteBuffer data) {
        FsDigest digest;
        synchronized (this) {
            if (ended) {
                return;
            }
            digest = made;
        }
        if (digest == null) {
            // Made outside the lock: a close on the loop must not wait for the library to load.
            digest = Sha256Source.shared().newDigest();
            synchronized (this) {
                if (ended) {
                    digest.close();
                    return;
                }
                made = digest;
            }
        }
        digest.update(data); // safe beside a close: the made digests guard their own state
    }

    @Override
    synchronized String hex() {
        if (ended) {
            throw new IllegalStateException("the digest was closed or already read");
        }
        ended = true;
        return made == null ? EMPTY : made.hex();
    }

    @Override
    synchronized void close() {
        ended = true;
        if (made != null) {
            made.close();
        }
    }
}
