package io.agentd.agent.fs;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The JDK's SHA-256: the digest when libcrypto cannot be loaded. */
final class JdkSha256 extends FsDigest {
    private final MessageDigest sha256;

    JdkSha256() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    @Override
    void update(ByteBuffer data) {
        sha256.update(data.duplicate());
    }

    @Override
    String hex() {
        return HexFormat.of().formatHex(sha256.digest());
    }

    @Override
    void close() {
        // Heap only: the GC takes it.
    }
}
