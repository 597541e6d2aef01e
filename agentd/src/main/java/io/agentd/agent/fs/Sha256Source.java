package io.agentd.agent.fs;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the agent's digests come from: libcrypto ({@link NativeSha256}) when it loads, else the JDK
 * ({@link JdkSha256}), which is correct but under C1 caps a transfer far below the disk and the
 * socket. The agent's choice is made once, on the first digest (a transfer with the extended
 * feature), so an agent that never hashes never loads the library; a fallback is logged once.
 */
final class Sha256Source {
    /** The library to load: a name the dynamic loader finds, or a path. */
    static final String LIBRARY_PROPERTY = "agentd.fs.libcrypto";
    static final String DEFAULT_LIBRARY = "libcrypto.so.3";

    private static final Logger log = LoggerFactory.getLogger(Sha256Source.class);

    /** null: the JDK's. */
    private final LibCrypto crypto;

    private Sha256Source(LibCrypto crypto) {
        this.crypto = crypto;
    }

    /** The agent's, loaded on first use from {@value #LIBRARY_PROPERTY} (default {@value #DEFAULT_LIBRARY}). */
    static Sha256Source shared() {
        return Shared.SOURCE;
    }

    private static final class Shared {
        static final Sha256Source SOURCE = load(System.getProperty(LIBRARY_PROPERTY, DEFAULT_LIBRARY));
    }

    /** libcrypto from {@code library}, or the JDK's digest with one log line saying why. */
    static Sha256Source load(String library) {
        try {
            return new Sha256Source(LibCrypto.load(library));
        } catch (IllegalStateException | LinkageError e) {
            // jnr's message goes on with the search path, a line each: the first line says it all.
            String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            log.warn("fs sha256: {}; using the JDK's SHA-256, slower on this JIT", why);
            return new Sha256Source(null);
        }
    }

    boolean isNative() {
        return crypto != null;
    }

    FsDigest newDigest() {
        return crypto != null ? new NativeSha256(crypto) : new JdkSha256();
    }
}
