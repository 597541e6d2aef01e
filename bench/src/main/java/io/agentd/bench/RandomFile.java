package io.agentd.bench;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Input files for the benches that send or receive a file's bytes. */
final class RandomFile {
    private RandomFile() {}

    /** Writes {@code bytes} pseudo-random bytes (incompressible, not all zero); returns their sha256. */
    static String write(Path file, long bytes) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        SplittableRandom random = new SplittableRandom(bytes);
        byte[] block = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = bytes; left > 0; ) {
                int n = (int) Math.min(block.length, left);
                for (int i = 0; i < n; i += 8) {
                    long v = random.nextLong();
                    for (int j = 0; j < 8 && i + j < n; j++) {
                        block[i + j] = (byte) (v >>> (8 * j));
                    }
                }
                out.write(block, 0, n);
                sha.update(block, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
