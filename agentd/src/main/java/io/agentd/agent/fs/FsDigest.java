package io.agentd.agent.fs;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The SHA-256 of a transfer's bytes, for the {@code sha256} extension field. */
final class FsDigest {
    private final MessageDigest sha256;

    FsDigest() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    void update(byte[] data, int off, int len) {
        sha256.update(data, off, len);
    }

    /** The bytes between {@code data}'s position and limit; its position does not move. */
    void update(ByteBuffer data) {
        sha256.update(data.duplicate());
    }

    String hex() {
        return HexFormat.of().formatHex(sha256.digest());
    }
}
