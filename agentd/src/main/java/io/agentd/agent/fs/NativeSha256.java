package io.agentd.agent.fs;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import jnr.ffi.Pointer;

/**
 * A SHA-256 in an EVP_MD_CTX of libcrypto. The context is native memory: it is freed by
 * {@link #hex} or {@link #close}, under the same lock as {@link #update}, so an abort on the loop
 * thread never frees it under a worker's update; an update after that is ignored (the transfer
 * is over and its digest unused).
 */
final class NativeSha256 extends FsDigest {
    private static final int BYTES = 32;

    private final LibCrypto.Library library;
    /** NULL once freed. */
    private Pointer ctx;

    NativeSha256(LibCrypto crypto) {
        this.library = crypto.library;
        Pointer made = library.EVP_MD_CTX_new();
        if (made == null) {
            throw new OutOfMemoryError("EVP_MD_CTX_new gave NULL");
        }
        if (library.EVP_DigestInit_ex(made, crypto.sha256, null) != 1) {
            library.EVP_MD_CTX_free(made);
            throw new IllegalStateException("EVP_DigestInit_ex(SHA-256) failed");
        }
        ctx = made;
    }

    @Override
    synchronized void update(ByteBuffer data) {
        int n = data.remaining();
        if (ctx == null || n == 0) {
            return;
        }
        if (library.EVP_DigestUpdate(ctx, data, n) != 1) {
            throw new IllegalStateException("EVP_DigestUpdate failed");
        }
    }

    @Override
    synchronized String hex() {
        if (ctx == null) {
            throw new IllegalStateException("the digest was closed or already read");
        }
        byte[] md = new byte[BYTES];
        int ok = library.EVP_DigestFinal_ex(ctx, md, null);
        close();
        if (ok != 1) {
            throw new IllegalStateException("EVP_DigestFinal_ex failed");
        }
        return HexFormat.of().formatHex(md);
    }

    @Override
    synchronized void close() {
        if (ctx != null) {
            library.EVP_MD_CTX_free(ctx);
            ctx = null;
        }
    }
}
