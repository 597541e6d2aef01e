package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kit's QEMU command line and scripts/guest/boot's are written twice (the kit runs from a jar,
 * without the scripts): these tests read the script and fail when the two drift apart.
 */
class QemuCommandTest {
    private static final Path BOOT = Path.of(System.getProperty("agentd.project.root"), "scripts/guest/boot");
    /** What stands for a value the script takes from a variable, and the kit from its settings. */
    private static final String VARIABLE = "*";

    @TempDir
    Path tmp;

    @Test
    void theFlagsAreTheBootScripts() throws IOException {
        GuestImage image = GuestImage.load(FakeImage.create(tmp.resolve("img")));
        List<String> kit = QemuCommand.argv(QemuCommand.DEFAULT_BINARY, Accel.TCG, image, 1024, 2,
                List.of(), Path.of("/run/agent.sock"), Path.of("/run/qmp.sock"), Path.of("/run/console.log"),
                Path.of("/run/qemu.pid"));
        List<String> script = scriptArgv();
        assertEquals(script.size(), kit.size(), "script: " + script + "\nkit:    " + kit);
        for (int i = 0; i < script.size(); i++) {
            String expected = script.get(i);
            if (!expected.contains(VARIABLE)) {
                assertEquals(expected, kit.get(i), "argument " + i + "\nscript: " + script + "\nkit:    " + kit);
            } else {
                // A value built around a variable (file:$console, socket,...path=$socket,...): same prefix and suffix.
                String[] parts = expected.split(Pattern.quote(VARIABLE), -1);
                assertTrue(kit.get(i).startsWith(parts[0]) && kit.get(i).endsWith(parts[parts.length - 1]),
                        "argument " + i + ": " + kit.get(i) + " does not fit " + expected);
            }
        }
    }

    /** The script tries hung boots again as the kit does (HungBootCheck, GuestVm): the same tries, deadline and lockup. */
    @Test
    void theHungBootRulesAreTheBootScripts() throws IOException {
        String script = Files.readString(BOOT);
        Matcher m = Pattern.compile("(?m)^hung_tries=(\\d+) user_space_within=\\$\\(\\(timeout / (\\d+)\\)\\) stuck_seconds=(\\d+)\n"
                + "\\[ \"\\$user_space_within\" -ge (\\d+) \\] \\|\\| user_space_within=(\\d+)$").matcher(script);
        assertTrue(m.find(), "no hung-boot settings in " + BOOT);
        assertEquals(GuestVm.HUNG_BOOT_TRIES, Integer.parseInt(m.group(1)), "tries");
        assertEquals(HungBootCheck.STUCK_SECONDS, Integer.parseInt(m.group(3)), "soft lockup seconds");
        long floor = HungBootCheck.USER_SPACE_WITHIN.toSeconds();
        assertEquals(floor, Long.parseLong(m.group(4)), "init deadline floor");
        assertEquals(floor, Long.parseLong(m.group(5)), "init deadline floor");
        // The kit's deadline is the floor or this fraction of the boot timeout, whichever is longer.
        int fraction = Integer.parseInt(m.group(2));
        Duration timeout = Duration.ofSeconds(floor * fraction * 2);
        assertEquals(timeout.dividedBy(fraction), GuestVm.builder().bootTimeout(timeout).userSpaceWithin(), "init deadline fraction");
    }

    /**
     * QEMU splits a -chardev or -qmp unix: value at its commas, so a comma of a path there is doubled;
     * -serial file:, -kernel, -initrd and -pidfile take their argument whole and keep it. Before, a run
     * directory with a comma made QEMU refuse the -qmp option ("Invalid parameter 'dir/qmp.sock'").
     */
    @Test
    void aCommaInThePathsIsDoubledWhereQemuSplitsTheValueAtCommas() throws IOException {
        Path imageDir = FakeImage.create(tmp.resolve("image,1"));
        GuestImage image = GuestImage.load(imageDir);
        Path run = Path.of("/tmp/run,dir");
        List<String> kit = QemuCommand.argv(QemuCommand.DEFAULT_BINARY, Accel.TCG, image, 1024, 2, List.of(),
                run.resolve("port.sock"), run.resolve("qmp.sock"), run.resolve("console.log"), run.resolve("qemu.pid"));
        assertEquals("socket,id=agent,path=/tmp/run,,dir/port.sock,server=on,wait=off", valueOf(kit, "-chardev"));
        assertEquals("unix:/tmp/run,,dir/qmp.sock,server=on,wait=off", valueOf(kit, "-qmp"));
        assertEquals(List.of("-qmp", "unix:/tmp/run,,dir/mon.sock,server=on,wait=off"),
                QemuCommand.kitMonitor(run.resolve("mon.sock")), "the kit's own monitor, beside the relay's");
        assertEquals("file:/tmp/run,dir/console.log", valueOf(kit, "-serial"));
        assertEquals("/tmp/run,dir/qemu.pid", valueOf(kit, "-pidfile"));
        assertEquals(image.kernel().toString(), valueOf(kit, "-kernel"));
        assertTrue(valueOf(kit, "-kernel").contains("image,1/"), valueOf(kit, "-kernel"));
        assertEquals(image.initrd().toString(), valueOf(kit, "-initrd"));
    }

    /**
     * A value with whitespace, or any other character outside visible ASCII (the kernel splits at the
     * byte 0xA0 too, part of UTF-8's U+00E0 and U+00A0), is put in double quotes; the rest is as given.
     */
    @Test
    void aKernelParameterIsQuotedWhereTheKernelWouldSplitIt() {
        assertEquals("agentd.env=\"GREETING=hello world\"", QemuCommand.kernelParameter("agentd.env=GREETING=hello world"));
        assertEquals("agentd.cwd=\"/tmp/a\tb\"", QemuCommand.kernelParameter("agentd.cwd=/tmp/a\tb"));
        assertEquals("agentd.env=\"X=\u00e0\"", QemuCommand.kernelParameter("agentd.env=X=\u00e0"));
        assertEquals("agentd.env=\" \"", QemuCommand.kernelParameter("agentd.env= "));
        for (String plain : List.of("agentd.profile=strict", "quiet", "agentd.empty=", "a=b=c", "agentd.x=\\'$")) {
            assertEquals(plain, QemuCommand.kernelParameter(plain));
        }
    }

    private static String valueOf(List<String> argv, String option) {
        int i = argv.indexOf(option);
        assertTrue(i >= 0 && i + 1 < argv.size(), "no " + option + " in " + argv);
        return argv.get(i + 1);
    }

    @Test
    void theKernelCommandLineIsTheBootScripts() throws IOException {
        Matcher m = Pattern.compile("(?m)^cmdline=\"([^\"]*)\"").matcher(Files.readString(BOOT));
        assertTrue(m.find(), "no cmdline=\"...\" line in " + BOOT);
        List<String> words = new ArrayList<>(Arrays.asList(m.group(1).trim().split("\\s+")));
        words.removeIf(w -> w.startsWith("$"));
        assertEquals(words, QemuCommand.BASE_KERNEL_ARGS);
    }

    /**
     * The script's QEMU invocation, from qemu-system-x86_64 to the end of its continued lines, split
     * into words, quotes removed; a word holding a $variable gets {@value #VARIABLE} in its place.
     */
    private static List<String> scriptArgv() throws IOException {
        String text = Files.readString(BOOT);
        int start = text.indexOf(QemuCommand.DEFAULT_BINARY + " ");
        assertTrue(start >= 0, "no " + QemuCommand.DEFAULT_BINARY + " in " + BOOT);
        StringBuilder invocation = new StringBuilder();
        for (String line : text.substring(start).split("\n")) {
            String trimmed = line.strip();
            boolean continued = trimmed.endsWith("\\");
            invocation.append(' ').append(continued ? trimmed.substring(0, trimmed.length() - 1) : trimmed);
            if (!continued) {
                break;
            }
        }
        String command = invocation.toString();
        int or = command.indexOf("||");
        if (or >= 0) {
            command = command.substring(0, or);
        }
        List<String> words = new ArrayList<>();
        for (String word : command.trim().split("\\s+")) {
            word = word.replace("\"", "");
            words.add(word.replaceAll("\\$\\{?[A-Za-z_]+}?(/[A-Za-z_.$]*)?", VARIABLE));
        }
        return words;
    }
}
