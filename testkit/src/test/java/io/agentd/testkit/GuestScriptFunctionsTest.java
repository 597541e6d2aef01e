package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shell functions of the guest's scripts that parse text, each run alone by the shell its script
 * runs under, on made-up input (no image is built, no VM booted): build-image's reading of ldd's
 * output (the library files, the libraries not found), init's reading of the kernel command line.
 */
class GuestScriptFunctionsTest {
    private static final Path GUEST = Path.of(System.getProperty("agentd.project.root", ".."))
            .resolve("scripts/guest").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    /**
     * Before, build-image took every run of non-spaces after a slash: for a rootfs under a path with a
     * space ldd's "/tmp/with space/...rootfs/opt/jre/bin/../lib/libjli.so" became "/tmp/with" and
     * "/...libjli.so", and the build died copying them ("cp: cannot stat").
     */
    @Test
    void buildImageReadsLibraryPathsWithSpacesWholeFromLddsOutput() throws Exception {
        String ldd = """
                \tlinux-vdso.so.1 (0x00007ffd1c3f0000)
                \tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f456fa60000)
                \tlibjli.so => /tmp/with space/repo/build/guest/rootfs/opt/jre/bin/../lib/libjli.so (0x00007f456fa50000)
                \tlibgone.so.2 => not found
                \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f456f86e000)
                \t/opt/my libs/ld-linux-x86-64.so.2 (0x00007f456fa9a000)
                """;
        assertEquals(List.of("/lib/x86_64-linux-gnu/libz.so.1",
                "/tmp/with space/repo/build/guest/rootfs/opt/jre/bin/../lib/libjli.so",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/opt/my libs/ld-linux-x86-64.so.2"),
                run("bash", "build-image", "ldd_paths", "ldd_paths", ldd));
    }

    /**
     * Before, build-image dropped ldd's "not found" lines with the rest of what named no file, and
     * built an image whose ELF would not load in the guest. Now each such library is named with its
     * ELF, but for the allow-list, libraries the guest has by another way: libjvm.so of the JRE's
     * libraries (the JVM has loaded it) and socat's libwrap.so.0 (the image takes it from its package).
     */
    @Test
    void buildImageNamesTheLibrariesLddDoesNotFindButTheAllowedOnes() throws Exception {
        String ldd = """
                /opt/jre/lib/libnio.so:
                \tlinux-vdso.so.1 (0x00007ffd1c3f0000)
                \tlibjvm.so => not found
                \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f456f86e000)
                /usr/bin/socat:
                \tlibwrap.so.0 => not found
                \tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f456fa60000)
                /bin/busybox:
                /opt/my dir/libtool.so:
                \tlibgone.so.2 => not found
                \tlibjvm.so.1 => not found
                \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f456f86e000)
                /opt/agentd/native/libagentd-shim.so:
                \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f456f86e000)
                \tlibnone.so => not found
                """;
        assertEquals(List.of("/opt/my dir/libtool.so: libgone.so.2", "/opt/my dir/libtool.so: libjvm.so.1",
                "/opt/agentd/native/libagentd-shim.so: libnone.so"),
                run("bash", "build-image", "ldd_not_found", "ldd_not_found", ldd));
    }

    /**
     * The kernel keeps whitespace inside double quotes in one parameter and removes the quotes around
     * its value or all of it (kernel/params.c, next_arg). Before, init split /proc/cmdline at every
     * space (agentd.env="GREETING=hello world" became --env '"GREETING=hello' and a stray 'world"')
     * and glob-expanded each word.
     */
    @Test
    void initSplitsTheKernelCommandLineAsTheKernelDoes() throws Exception {
        Path cmdline = dir.resolve("cmdline");
        Files.createFile(dir.resolve("agentd.profile=from-a-glob"));
        Files.writeString(cmdline, "console=ttyS0  quiet agentd.env=\"GREETING=hello world\" \"agentd.cwd=/tmp/a b\""
                + " agentd.profile=* agentd.empty=\"\" agentd.odd=\" a=\"b c\"\n");
        assertEquals(List.of("console=ttyS0", "quiet", "agentd.env=GREETING=hello world", "agentd.cwd=/tmp/a b",
                "agentd.profile=*", "agentd.empty=", "agentd.odd= a=\"b", "c\""),
                run("sh", "init", "kernel_params", "kernel_params '" + cmdline + "'", ""));
    }

    /**
     * The kernel's parameters end at "--" (kernel/params.c, parse_args; also "--" in quotes, which
     * next_arg unquotes): init/main.c hands the words after it to init as arguments, but /proc/cmdline
     * still holds them. Before, init read an agentd.* word there as an agent option.
     */
    @Test
    void initStopsReadingTheKernelCommandLineAtTheDoubleDash() throws Exception {
        Path plain = dir.resolve("plain");
        Files.writeString(plain, "console=ttyS0 agentd.cwd=-- agentd.profile=strict -- agentd.env=A=b \"agentd.log-level=debug\"\n");
        assertEquals(List.of("console=ttyS0", "agentd.cwd=--", "agentd.profile=strict"),
                run("sh", "init", "kernel_params", "kernel_params '" + plain + "'", ""));
        Path quoted = dir.resolve("quoted");
        Files.writeString(quoted, "quiet \"--\" agentd.env=A=b\n");
        assertEquals(List.of("quiet"), run("sh", "init", "kernel_params", "kernel_params '" + quoted + "'", ""));
    }

    /**
     * What the kit puts on the kernel command line for each of its kernel arguments
     * (QemuCommand.kernelParameter: a value with whitespace or other than visible ASCII in double
     * quotes) is what init reads back: the arguments as they were given.
     */
    @Test
    void initReadsTheKitsKernelArgumentsBackAsTheyWereGiven() throws Exception {
        List<String> given = List.of("agentd.env=GREETING=hello  world", "agentd.cwd=/tmp/a\tb", "agentd.env=X=\u00e0 \u00a0y",
                "agentd.empty=", "agentd.env=SPACE= ", "agentd.profile=strict", "quiet");
        Path cmdline = dir.resolve("cmdline");
        Files.writeString(cmdline, String.join(" ", QemuCommand.BASE_KERNEL_ARGS) + " "
                + given.stream().map(QemuCommand::kernelParameter).collect(Collectors.joining(" ")) + "\n");
        List<String> read = run("sh", "init", "kernel_params", "kernel_params '" + cmdline + "'", "");
        assertEquals(given, read.subList(QemuCommand.BASE_KERNEL_ARGS.size(), read.size()));
    }

    /**
     * The sizes init gives its RAM file systems (agentd.tmp-size and the like): bytes, k, m, g, or a
     * percentage of the memory the image leaves ($mem_room), in KiB; 0, which tmpfs would take for no
     * limit, and anything else are refused (init then logs and takes the default).
     */
    @Test
    void initReadsTheSizesOfItsRamFileSystems() throws Exception {
        assertEquals(List.of("25% 250000", "8m 8192", "8M 8192", "1g 1048576", "2G 2097152", "4k 4", "1000 1", "1 1",
                "0 refused", "0% refused", " refused", "1.5g refused", "12x refused", "-5m refused", "5mm refused",
                "1234567890 refused", "m refused", "% refused", "999999999g 1048575998951424"),
                run("sh", "init", "size_kib", "mem_room=1000000; for v in 25% 8m 8M 1g 2G 4k 1000 1 0 0% '' 1.5g 12x -5m 5mm"
                        + " 1234567890 m % 999999999g; do if size_kib \"$v\"; then echo \"$v $kib\"; else echo \"$v refused\"; fi; done",
                        ""));
    }

    /**
     * Runs {@code call} in {@code dir} (where a glob would find files) with {@code shell}, after the
     * definition of {@code function} taken from the script: its lines from {@code function() {} to
     * the first line that is {@code }}.
     */
    private List<String> run(String shell, String script, String function, String call, String stdin)
            throws IOException, InterruptedException {
        List<String> lines = Files.readAllLines(GUEST.resolve(script));
        int start = lines.indexOf(function + "() {");
        assertTrue(start >= 0, "no " + function + "() { in " + script);
        int end = lines.subList(start, lines.size()).indexOf("}") + start;
        String definition = String.join("\n", lines.subList(start, end + 1));
        Process p = new ProcessBuilder(shell, "-c", definition + "\n" + call).directory(dir.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), shell + " still runs");
        assertEquals(0, p.exitValue(), shell + " failed; printed: " + out);
        return out.lines().toList();
    }
}
