package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestImageTest {
    @TempDir
    Path tmp;

    @Test
    void loadsAnImageAndResolvesItsFilesAgainstItsDirectory() throws IOException {
        Path dir = FakeImage.create(tmp.resolve("img"));
        GuestImage image = GuestImage.load(dir);
        assertEquals(dir.resolve("vmlinuz"), image.kernel());
        assertEquals(dir.resolve("initramfs.cpio.lz4"), image.initrd());
        assertEquals("6.1.0-test", image.kernelVersion());
    }

    @Test
    void aMissingDirectoryIsNamedWithHowToBuildOne() {
        Path dir = tmp.resolve("nowhere");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestImage.load(dir));
        assertContains(e, dir + ": the directory does not exist");
        assertContains(e, "scripts/guest/build-image");
    }

    @Test
    void aDirectoryWithoutImageEnvIsNotAnImage() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestImage.load(dir));
        assertContains(e, dir.resolve("image.env") + " is missing");
    }

    @Test
    void aMissingKernelIsNamed() throws IOException {
        Path dir = FakeImage.create(tmp.resolve("img"));
        Files.delete(dir.resolve("vmlinuz"));
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestImage.load(dir));
        assertContains(e, dir.resolve("vmlinuz") + " (KERNEL in image.env) is missing");
    }

    @Test
    void aTruncatedKernelIsCorrupt() throws IOException {
        Path dir = FakeImage.create(tmp.resolve("img"));
        Files.write(dir.resolve("vmlinuz"), new byte[100]);
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestImage.load(dir));
        assertContains(e, "the kernel " + dir.resolve("vmlinuz") + " is neither an x86-64 ELF (vmlinux) nor an x86 bzImage");
    }

    /** build-image's kernel: the bzImage's payload, an ELF that QEMU starts at its PVH entry. */
    @Test
    void aVmlinuxIsTakenAndAnElfForAnotherMachineIsNot() throws IOException {
        Path dir = FakeImage.create(tmp.resolve("img"));
        byte[] elf = new byte[64];
        System.arraycopy(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}, 0, elf, 0, 7);
        elf[18] = 0x3e; // EM_X86_64
        Files.write(dir.resolve("vmlinux"), elf);
        Files.writeString(dir.resolve("image.env"), "KERNEL=vmlinux\nINITRD=initramfs.cpio.lz4\nKERNEL_VERSION=6.1.0-test\n");
        assertEquals(dir.resolve("vmlinux"), GuestImage.load(dir).kernel());

        elf[18] = (byte) 0xb7; // EM_AARCH64
        Files.write(dir.resolve("vmlinux"), elf);
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestImage.load(dir));
        assertContains(e, "the kernel " + dir.resolve("vmlinux") + " is neither an x86-64 ELF");
    }

    @Test
    void anInitramfsOfAnotherFormatIsCorrupt() throws IOException {
        Path dir = FakeImage.create(tmp.resolve("img"));
        Files.writeString(dir.resolve("initramfs.cpio.lz4"), "<html>not found</html>");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestImage.load(dir));
        assertContains(e, "the initramfs " + dir.resolve("initramfs.cpio.lz4") + " is not an lz4");
    }

    @Test
    void anImageEnvWithoutTheKernelVersionIsRefused() throws IOException {
        Path dir = FakeImage.create(tmp.resolve("img"));
        Files.writeString(dir.resolve("image.env"), "KERNEL=vmlinuz\nINITRD=initramfs.cpio.lz4\n");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestImage.load(dir));
        assertContains(e, "does not set KERNEL_VERSION");
    }

    @Test
    void theDefaultDirectoryIsTheProjectsBuildGuest() {
        Assumptions.assumeTrue(System.getProperty(GuestImage.DIR_PROPERTY) == null && System.getenv(GuestImage.DIR_ENV) == null,
                "an image directory is configured explicitly");
        // Surefire sets agentd.project.root to the module's parent: the project, where build-image writes.
        Path root = Path.of(System.getProperty("agentd.project.root")).toAbsolutePath().normalize();
        assertEquals(root.resolve("build/guest"), GuestImage.defaultDir());
        assertTrue(Files.isRegularFile(root.resolve("scripts/guest/build-image")), "project root: " + root);
    }

    static void assertContains(Throwable e, String text) {
        assertTrue(e.getMessage().contains(text), "expected \"" + text + "\" in: " + e.getMessage());
    }
}
