package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/install-deps on a machine without apt-get names what is missing instead of failing on the
 * apt-get call (a newcomer's review: a Fedora or Arch box stopped there), and its build mode, which
 * scripts/demo uses, asks for nothing a VM needs.
 */
class InstallDepsScriptTest {
    private static final Path SCRIPT = Path.of(System.getProperty("agentd.project.root", ".."))
            .resolve("scripts/install-deps").toAbsolutePath().normalize();

    private record Run(int status, String output) {}

    /** The script with PATH holding only bash, env and id: no compiler, no Maven, no apt-get. */
    private static Run run(Path bin, String... args) throws Exception {
        for (String tool : List.of("bash", "env", "id")) {
            Files.createSymbolicLink(bin.resolve(tool), Path.of("/usr/bin", tool));
        }
        List<String> command = new java.util.ArrayList<>(List.of("/usr/bin/bash", SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PATH", bin.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), out);
        return new Run(p.exitValue(), out);
    }

    @Test
    void withoutAptGetTheBuildModeNamesWhatIsMissingAndNoVmPackage(@TempDir Path bin) throws Exception {
        Run r = run(bin, "build");
        assertEquals(1, r.status(), r.output());
        assertTrue(r.output().startsWith("install-deps: missing gcc") && r.output().contains("maven")
                && r.output().contains("openjdk-17-jdk-headless") && r.output().contains("there is no apt-get here"),
                r.output());
        assertFalse(r.output().contains("qemu") || r.output().contains("lz4"), "the build mode needs no VM: " + r.output());
    }

    @Test
    void everythingAsksForTheVmsPackagesToo(@TempDir Path bin) throws Exception {
        Run r = run(bin);
        assertEquals(1, r.status(), r.output());
        assertTrue(r.output().contains("qemu-system-x86") && r.output().contains("lz4"), r.output());
    }

    @Test
    void anUnknownModeIsAUsageError(@TempDir Path bin) throws Exception {
        Run r = run(bin, "everything");
        assertEquals(2, r.status(), r.output());
        assertTrue(r.output().contains("unknown mode everything"), r.output());
    }
}
