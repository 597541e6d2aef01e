package io.agentd.agent.fs;

import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;

/**
 * OpenSSL's libcrypto, loaded through jnr-ffi: the EVP calls of a SHA-256 and nothing else. The
 * agent runs C1-only, where the JDK's SHA-256 has no intrinsic; libcrypto's uses the CPU's SHA
 * extensions or vector units (DESIGN.md, decision 23). Loading computes a known digest, so a
 * library that loads but does not answer right is refused, not trusted with every transfer.
 */
final class LibCrypto {
    /** The C functions (OpenSSL 1.1.0 and later, so libcrypto.so.3 and .so.1.1 alike). */
    public interface Library {
        @IgnoreError
        Pointer EVP_sha256();

        @IgnoreError
        Pointer EVP_MD_CTX_new();

        @IgnoreError
        void EVP_MD_CTX_free(Pointer ctx);

        /** @return 1, or 0 on failure */
        @IgnoreError
        int EVP_DigestInit_ex(Pointer ctx, Pointer type, Pointer engine);

        /** The bytes between the buffer's position and limit (a heap buffer is copied by jnr). */
        @IgnoreError
        int EVP_DigestUpdate(Pointer ctx, @In ByteBuffer data, @size_t long count);

        /** @param size unsigned int *, may be NULL */
        @IgnoreError
        int EVP_DigestFinal_ex(Pointer ctx, @Out byte[] md, Pointer size);
    }

    /** SHA-256 of "abc" (FIPS 180-2, appendix B.1). */
    private static final String ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    final Library library;
    /** The EVP_MD of SHA-256: a static object of the library, never freed. */
    final Pointer sha256;

    private LibCrypto(Library library, Pointer sha256) {
        this.library = library;
        this.sha256 = sha256;
    }

    /**
     * @param name a file name the dynamic loader finds (libcrypto.so.3) or a path
     * @throws IllegalStateException when it does not load, lacks a function, or gets "abc" wrong
     */
    static LibCrypto load(String name) {
        LibCrypto crypto;
        String abc;
        try {
            Library library = LibraryLoader.create(Library.class).failImmediately().load(name);
            // jnr binds each function on its first call: a missing one shows in this first digest.
            Pointer sha256 = library.EVP_sha256();
            if (sha256 == null) {
                throw new IllegalStateException(name + " has no SHA-256 (EVP_sha256 gave NULL)");
            }
            crypto = new LibCrypto(library, sha256);
            NativeSha256 check = new NativeSha256(crypto);
            check.update(ByteBuffer.wrap(new byte[] {'a', 'b', 'c'}));
            abc = check.hex();
        } catch (LinkageError | RuntimeException e) {
            throw new IllegalStateException(name + " does not load: " + e, e);
        }
        if (!abc.equals(ABC_SHA256)) {
            throw new IllegalStateException(name + " gives " + abc + " as the SHA-256 of \"abc\"");
        }
        return crypto;
    }
}
