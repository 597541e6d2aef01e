package io.agentd.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** An image directory that passes {@link GuestImage#load}'s checks without being bootable. */
final class FakeImage {
    private FakeImage() {
    }

    static Path create(Path dir) throws IOException {
        Files.createDirectories(dir);
        byte[] kernel = new byte[0x400];
        System.arraycopy(new byte[] {'H', 'd', 'r', 'S'}, 0, kernel, 0x202, 4);
        Files.write(dir.resolve("vmlinuz"), kernel);
        Files.write(dir.resolve("initramfs.cpio.lz4"), new byte[] {0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0});
        Files.writeString(dir.resolve("image.env"), "KERNEL=vmlinuz\nINITRD=initramfs.cpio.lz4\nKERNEL_VERSION=6.1.0-test\n");
        return dir;
    }
}
