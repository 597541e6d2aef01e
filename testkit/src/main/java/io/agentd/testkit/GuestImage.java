package io.agentd.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A guest image as scripts/guest/build-image writes it (and Dockerfile.guest's boot-files target
 * exports it): {@code image.env} naming the kernel and the initramfs, relative to the image's
 * directory, and the kernel version. Loading checks what QEMU would otherwise fail on later and less
 * clearly: the files exist, the kernel is an x86-64 ELF (build-image's vmlinux, booted at its PVH
 * entry) or an x86 bzImage, the initramfs is an lz4 (legacy frame), gzip or plain cpio archive.
 *
 * @param dir           the image directory
 * @param kernel        the kernel (vmlinux, or a bzImage)
 * @param initrd        the initramfs
 * @param kernelVersion the kernel's release (what {@code uname -r} prints in the guest)
 */
public record GuestImage(Path dir, Path kernel, Path initrd, String kernelVersion) {
    /** Where build-image puts its output unless told otherwise, relative to the project root. */
    public static final Path DEFAULT_RELATIVE_DIR = Path.of("build", "guest");
    /** System property, then environment variable, naming the image directory the kit boots by default. */
    public static final String DIR_PROPERTY = "agentd.guest.image";
    public static final String DIR_ENV = "AGENTD_GUEST_IMAGE";
    /**
     * System property that, when {@code true}, makes a test that needs the image fail rather than skip
     * without one (scripts/test-all sets it, after building the image). When it is not set,
     * {@code CI=true} in the environment does the same, so that CI never passes by skipping every VM test.
     */
    public static final String REQUIRED_PROPERTY = "agentd.guest.required";

    private static final byte[] LZ4_LEGACY = {0x02, 0x21, 0x4c, 0x18};
    private static final byte[] GZIP = {0x1f, (byte) 0x8b};
    private static final byte[] CPIO_NEWC = {'0', '7', '0', '7', '0'};
    /** The x86 boot protocol's header magic "HdrS", at this offset of a bzImage. */
    private static final int BZIMAGE_MAGIC_OFFSET = 0x202;
    private static final byte[] BZIMAGE_MAGIC = {'H', 'd', 'r', 'S'};
    /**
     * build-image's vmlinux, which QEMU starts at its PVH entry: an ELF (0x7f "ELF"), 64-bit (class 2),
     * little-endian (1), for x86-64 (e_machine 0x3e at offset 18). Whether it has the PVH note is
     * QEMU's to say ("without PVH ELF Note"), in the boot's failure.
     */
    private static final byte[] ELF64_LE = {0x7f, 'E', 'L', 'F', 2, 1};
    private static final int ELF_MACHINE_OFFSET = 18;
    private static final byte[] ELF_MACHINE_X86_64 = {0x3e, 0};

    /**
     * The image directory used when none is given: the {@value #DIR_PROPERTY} system property, else
     * the {@value #DIR_ENV} environment variable, else {@code build/guest} under the
     * {@code agentd.project.root} system property, else under the nearest directory at or above the
     * working directory that holds one (so a test run from a module directory finds the project's).
     * Returns {@code build/guest} of the working directory when none exists, so that the error names it.
     */
    public static Path defaultDir() {
        String configured = System.getProperty(DIR_PROPERTY, System.getenv(DIR_ENV));
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        String root = System.getProperty("agentd.project.root");
        if (root != null) {
            return Path.of(root).resolve(DEFAULT_RELATIVE_DIR).toAbsolutePath().normalize();
        }
        Path cwd = Path.of("").toAbsolutePath();
        for (Path dir = cwd; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve(DEFAULT_RELATIVE_DIR).resolve("image.env"))) {
                return dir.resolve(DEFAULT_RELATIVE_DIR);
            }
        }
        return cwd.resolve(DEFAULT_RELATIVE_DIR);
    }

    /** Whether a missing image fails the tests that need it instead of skipping them ({@link #REQUIRED_PROPERTY}, CI=true). */
    public static boolean required() {
        String set = System.getProperty(REQUIRED_PROPERTY);
        return set != null ? Boolean.parseBoolean(set) : "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** True when {@code dir} holds an {@code image.env}: enough to decide whether to try (or skip). */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve("image.env"));
    }

    /**
     * Reads and checks the image in {@code dir}.
     *
     * @throws GuestVmException naming the path and what is missing or wrong with it
     */
    public static GuestImage load(Path dir) throws GuestVmException {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) {
            throw new GuestVmException("no guest image at " + abs + ": the directory does not exist"
                    + " (build one with scripts/guest/build-image --out " + abs + ")");
        }
        Path env = abs.resolve("image.env");
        if (!Files.isRegularFile(env)) {
            throw new GuestVmException("no guest image at " + abs + ": " + env + " is missing"
                    + " (build one with scripts/guest/build-image --out " + abs + ")");
        }
        Map<String, String> vars = readEnv(env);
        Path kernel = file(abs, env, vars, "KERNEL");
        Path initrd = file(abs, env, vars, "INITRD");
        String version = vars.get("KERNEL_VERSION");
        if (version == null || version.isBlank()) {
            throw new GuestVmException(env + " does not set KERNEL_VERSION");
        }
        byte[] kernelHead = head(kernel, BZIMAGE_MAGIC_OFFSET + BZIMAGE_MAGIC.length);
        boolean vmlinux = has(kernelHead, 0, ELF64_LE) && has(kernelHead, ELF_MACHINE_OFFSET, ELF_MACHINE_X86_64);
        if (!vmlinux && !has(kernelHead, BZIMAGE_MAGIC_OFFSET, BZIMAGE_MAGIC)) {
            throw new GuestVmException("the kernel " + kernel + " is neither an x86-64 ELF (vmlinux) nor an x86 bzImage"
                    + " (no \"HdrS\" at offset 0x202): truncated or not a kernel; rebuild the image");
        }
        byte[] initrdHead = head(initrd, CPIO_NEWC.length);
        if (!has(initrdHead, 0, LZ4_LEGACY) && !has(initrdHead, 0, GZIP) && !has(initrdHead, 0, CPIO_NEWC)) {
            throw new GuestVmException("the initramfs " + initrd + " is not an lz4 (legacy), gzip or cpio archive:"
                    + " truncated or not an initramfs; rebuild the image");
        }
        return new GuestImage(abs, kernel, initrd, version);
    }

    private static Path file(Path dir, Path env, Map<String, String> vars, String name) throws GuestVmException {
        String value = vars.get(name);
        if (value == null || value.isBlank()) {
            throw new GuestVmException(env + " does not set " + name);
        }
        Path file = dir.resolve(value);
        if (!Files.isRegularFile(file)) {
            throw new GuestVmException("the guest image at " + dir + " is incomplete: " + file
                    + " (" + name + " in image.env) is missing; rebuild the image");
        }
        return file;
    }

    /** image.env: NAME=VALUE lines, as build-image writes them (no quoting, no expansion). */
    private static Map<String, String> readEnv(Path env) throws GuestVmException {
        List<String> lines;
        try {
            lines = Files.readAllLines(env);
        } catch (IOException e) {
            throw new GuestVmException("cannot read " + env + ": " + e.getMessage(), e);
        }
        Map<String, String> vars = new HashMap<>();
        for (String line : lines) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("#")) {
                vars.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return vars;
    }

    /** Up to the first {@code length} bytes of the file (fewer when it is shorter). */
    private static byte[] head(Path file, int length) throws GuestVmException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(length);
        } catch (IOException e) {
            throw new GuestVmException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static boolean has(byte[] head, int offset, byte[] magic) {
        if (head.length < offset + magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if (head[offset + i] != magic[i]) {
                return false;
            }
        }
        return true;
    }
}
