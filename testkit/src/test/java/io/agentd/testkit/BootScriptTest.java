package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/guest/boot's own failure paths, with a QEMU and an agentctl that are shell scripts (no VM is
 * booted): a QEMU that ends before the agent is ready, a guest that hangs before its agent starts, and a
 * run directory whose VM still runs.
 */
class BootScriptTest {
    private static final Path BOOT = Path.of(System.getProperty("agentd.project.root", ".."))
            .resolve("scripts/guest/boot").toAbsolutePath().normalize();

    @TempDir
    Path dir;
    private Process liveQemu;
    private Process boot;

    /** A boot that failed the test may still wait, with its QEMU, relay and wait-ready. */
    @AfterEach
    void stopLeftovers() {
        for (Process p : new Process[] {liveQemu, boot}) {
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }

    /** An agentctl whose relay and wait-ready sit there: the agent never becomes ready. */
    private Path neverReadyAgentctl() throws IOException {
        return script("agentctl", "case \" $* \" in *\" relay \"*|*\" wait-ready \"*) exec sleep 300 ;; esac\nexit 2");
    }

    /** {@code dir/bin/qemu-system-x86_64} running {@code body}, on the PATH boot is given. */
    private Path qemu(String body) throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        return FakeQemu.create(dir.resolve("bin"), "qemu-system-x86_64", body);
    }

    private Path script(String name, String body) throws IOException {
        Path script = dir.resolve(name);
        Files.writeString(script, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private Process boot(Path run) throws IOException {
        return start(new ProcessBuilder(bootCommand(run)));
    }

    private List<String> bootCommand(Path run) throws IOException {
        return List.of("bash", BOOT.toString(), "--image", FakeImage.create(dir.resolve("image")).toString(),
                "--run-dir", run.toString(), "--agentctl", neverReadyAgentctl().toString(), "--timeout", "300", "--detach");
    }

    private Process start(ProcessBuilder pb) throws IOException {
        pb.environment().put("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"));
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("boot.out").toFile());
        boot = pb.start();
        return boot;
    }

    private String bootOutput() throws IOException {
        return Files.readString(dir.resolve("boot.out"), StandardCharsets.UTF_8);
    }

    /** Before: boot waited for a ready that could not come, the whole --timeout (300 s here). */
    /** --help prints the header's usage and exits 0 (it was an unknown option, exit 2: a newcomer's review). */
    @Test
    void helpPrintsTheUsage() throws Exception {
        Process help = new ProcessBuilder(BOOT.toString(), "--help").redirectErrorStream(true).start();
        String out = new String(help.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, help.waitFor(), out);
        assertTrue(out.startsWith("Boots the guest built by build-image") && out.contains("--detach"), out);
    }

    @Test
    void aQemuThatEndsBeforeTheAgentIsReadyFailsTheBootAtOnceAndStopsTheRelay() throws Exception {
        qemu("for a in \"$@\"; do [ \"$prev\" = -pidfile ] && echo $$ > \"$a\"; prev=$a; done\n"
                + "echo 'qemu: no such device' >&2; exit 1");
        Path run = dir.resolve("run");
        Process boot = boot(run);
        assertTrue(boot.waitFor(60, TimeUnit.SECONDS), "boot still waits after 60 s: " + bootOutput());
        assertEquals(1, boot.exitValue(), bootOutput());
        assertTrue(bootOutput().contains("QEMU exited (status 1) before the agent was ready"), bootOutput());
        assertTrue(bootOutput().contains("qemu: no such device"), bootOutput());
        long relay = Long.parseLong(Files.readString(run.resolve("relay.pid")).trim());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessHandle.of(relay).map(ProcessHandle::isAlive).orElse(false)) {
            assertTrue(System.nanoTime() < deadline, "the relay (pid " + relay + ") still runs");
            Thread.sleep(50);
        }
    }

    /**
     * boot itself stopped with SIGTERM while it waits for ready (a harness's destroy(), a closed
     * terminal): QEMU and the relay go with it. Before, both ran on, a guest under TCG nothing reached.
     */
    @Test
    void aBootStoppedWhileItWaitsTakesQemuAndTheRelayWithIt() throws Exception {
        qemu("for a in \"$@\"; do [ \"$prev\" = -pidfile ] && echo $$ > \"$a\"; prev=$a; done\nsleep 300");
        Path run = dir.resolve("run");
        Process boot = boot(run);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(run.resolve("relay.pid")) && Files.exists(run.resolve("qemu.pid"))
                && Files.size(run.resolve("qemu.pid")) > 0)) {
            assertTrue(System.nanoTime() < deadline, "QEMU and the relay did not start: " + bootOutput());
            Thread.sleep(50);
        }
        long qemu = Long.parseLong(Files.readString(run.resolve("qemu.pid")).trim());
        long relay = Long.parseLong(Files.readString(run.resolve("relay.pid")).trim());
        boot.destroy(); // SIGTERM to boot alone
        assertTrue(boot.waitFor(30, TimeUnit.SECONDS), bootOutput());
        for (long pid : new long[] {qemu, relay}) {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                assertTrue(System.nanoTime() < until, "pid " + pid + " still runs after boot was stopped");
                Thread.sleep(50);
            }
        }
    }

    /**
     * ^C at a script that runs boot (docker-build-check, a user's own): boot stops its VM and ends by
     * SIGINT, so the calling bash script stops too, as it does for any command ^C ends. Before, boot
     * exited 130 and the caller went on to its next step (another boot, in docker-build-check).
     */
    @Test
    void aBootEndedByControlCEndsTheScriptThatRanItToo() throws Exception {
        qemu("for a in \"$@\"; do [ \"$prev\" = -pidfile ] && echo $$ > \"$a\"; prev=$a; done\nsleep 300");
        Path run = dir.resolve("run");
        String caller = String.join(" ", bootCommand(run).stream().map(a -> "'" + a + "'").toList())
                + "; echo \"the caller went on after boot ended $?\"";
        // In a process group of its own (setsid), as a terminal's foreground job is: ^C signals the group.
        Process boot = start(new ProcessBuilder("setsid", "bash", "-c", caller));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(run.resolve("qemu.pid")) && Files.size(run.resolve("qemu.pid")) > 0)) {
            assertTrue(System.nanoTime() < deadline, "QEMU did not start: " + bootOutput());
            Thread.sleep(50);
        }
        long qemu = Long.parseLong(Files.readString(run.resolve("qemu.pid")).trim());
        assertEquals(0, new ProcessBuilder("kill", "-INT", "--", "-" + boot.pid()).inheritIO().start().waitFor());
        assertTrue(boot.waitFor(30, TimeUnit.SECONDS), bootOutput());
        assertFalse(bootOutput().contains("the caller went on"), bootOutput());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessHandle.of(qemu).map(ProcessHandle::isAlive).orElse(false)) {
            assertTrue(System.nanoTime() < until, "QEMU " + qemu + " still runs after ^C");
            Thread.sleep(50);
        }
    }

    /**
     * SIGTERM to boot's whole process group (timeout(1), a service manager's stop): QEMU goes, and the
     * wrapper that records its status outlives the signal and writes it. Before, the group's signal
     * ended the wrapper first: no qemu.status, and boot's stop waited 10 s for it in vain.
     */
    @Test
    void aSigtermToBootsWholeGroupStillRecordsQemusStatus() throws Exception {
        qemu("for a in \"$@\"; do [ \"$prev\" = -pidfile ] && echo $$ > \"$a\"; prev=$a; done\nsleep 300");
        Path run = dir.resolve("run");
        String command = String.join(" ", bootCommand(run).stream().map(a -> "'" + a + "'").toList());
        Process boot = start(new ProcessBuilder("setsid", "bash", "-c", command));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(run.resolve("qemu.pid")) && Files.size(run.resolve("qemu.pid")) > 0)) {
            assertTrue(System.nanoTime() < deadline, "QEMU did not start: " + bootOutput());
            Thread.sleep(50);
        }
        assertEquals(0, new ProcessBuilder("kill", "-TERM", "--", "-" + boot.pid()).inheritIO().start().waitFor());
        assertTrue(boot.waitFor(30, TimeUnit.SECONDS), bootOutput());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(run.resolve("qemu.status"))) {
            assertTrue(System.nanoTime() < until, "no qemu.status after the group's SIGTERM: " + bootOutput());
            Thread.sleep(50);
        }
    }

    /**
     * A boot whose stderr is closed, failing (its QEMU ends before the agent is ready): its first
     * line fails under set -e, and the script ends there. Before, QEMU's relay and wait-ready ran on
     * (no trap but the signals'); now its exit stops them, as a signal does.
     */
    @Test
    void aBootThatCannotWriteItsFailureStillStopsTheRelay() throws Exception {
        qemu("for a in \"$@\"; do [ \"$prev\" = -pidfile ] && echo $$ > \"$a\"; prev=$a; done\nexit 1");
        Path run = dir.resolve("run");
        String command = String.join(" ", bootCommand(run).stream().map(a -> "'" + a + "'").toList()) + " 2>&-";
        Process boot = start(new ProcessBuilder("bash", "-c", command));
        assertTrue(boot.waitFor(60, TimeUnit.SECONDS), "boot still waits after 60 s");
        assertTrue(boot.exitValue() != 0, "failed: " + boot.exitValue());
        long relay = Long.parseLong(Files.readString(run.resolve("relay.pid")).trim());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessHandle.of(relay).map(ProcessHandle::isAlive).orElse(false)) {
            assertTrue(System.nanoTime() < deadline, "the relay (pid " + relay + ") still runs");
            Thread.sleep(50);
        }
    }

    /**
     * A guest that hangs before its agent starts (its console as CI's showed: init, then soft lockups)
     * is stopped and booted again, three tries in all, each try's QEMU gone. Before, the boot waited
     * its whole --timeout (300 s here).
     */
    @Test
    void aGuestThatHangsBeforeItsAgentStartsIsBootedAgainThreeTriesInAll() throws Exception {
        Path pids = dir.resolve("qemu.pids");
        qemu("for a in \"$@\"; do [ \"$prev\" = -pidfile ] && echo $$ > \"$a\"; prev=$a; done\n"
                + "echo $$ >> '" + pids + "'\n"
                + "printf '%s' '" + HungBootTest.LOCKED_UP + "' > \"$console\"\nexec sleep 300");
        Path run = dir.resolve("run");
        Process boot = boot(run);
        assertTrue(boot.waitFor(60, TimeUnit.SECONDS), "boot still waits after 60 s: " + bootOutput());
        assertEquals(1, boot.exitValue(), bootOutput());
        String out = bootOutput();
        assertTrue(out.contains("boot: the guest hung before its agent started (its kernel reports a CPU stuck in it: soft lockup"
                + " - CPU#1 stuck for 45s!); booting it again, try 2 of 3; the hung boot's console is " + run + "/console-hung-1.log"), out);
        assertTrue(out.contains("booting it again, try 3 of 3; the hung boot's console is " + run + "/console-hung-2.log"), out);
        assertTrue(out.contains("boot: the guest hung before its agent started, in try 3 of 3: its kernel reports a CPU stuck"
                + " in it: soft lockup - CPU#1 stuck for 45s! (QEMU was stopped)"), out);
        assertFalse(out.contains("wait-ready failed"), out);
        for (int n = 1; n <= 2; n++) {
            assertTrue(Files.readString(run.resolve("console-hung-" + n + ".log")).contains("stuck for 45s"), "try " + n);
        }
        List<String> started = Files.readAllLines(pids);
        assertEquals(3, started.size(), "QEMUs started: " + started);
        for (String pid : started) {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false)) {
                assertTrue(System.nanoTime() < until, "QEMU pid " + pid + " still runs");
                Thread.sleep(50);
            }
        }
    }

    /**
     * QEMU splits a -chardev or -qmp unix: value at its commas, so boot doubles a comma of the run
     * directory there and nowhere else. Before, QEMU refused the -qmp option of a run directory such
     * as /tmp/run,dir at once ("Invalid parameter 'dir/qmp.sock'").
     */
    @Test
    void aCommaInTheRunDirectoryIsDoubledWhereQemuSplitsTheValueAtCommas() throws Exception {
        Path args = dir.resolve("qemu.args");
        qemu("printf '%s\\n' \"$@\" > '" + args + "'\nexit 1");
        Path run = dir.resolve("run,dir");
        Process boot = boot(run);
        assertTrue(boot.waitFor(60, TimeUnit.SECONDS), "boot still waits after 60 s: " + bootOutput());
        List<String> argv = Files.readAllLines(args);
        String escaped = run.toString().replace(",", ",,");
        assertEquals("socket,id=agent,path=" + escaped + "/port.sock,server=on,wait=off", valueOf(argv, "-chardev"));
        assertEquals("unix:" + escaped + "/qmp.sock,server=on,wait=off", valueOf(argv, "-qmp"));
        assertEquals("file:" + run + "/console.log", valueOf(argv, "-serial"));
        assertEquals(run + "/qemu.pid", valueOf(argv, "-pidfile"));
    }

    private static String valueOf(List<String> argv, String option) {
        int i = argv.indexOf(option);
        assertTrue(i >= 0 && i + 1 < argv.size(), "no " + option + " in " + argv);
        return argv.get(i + 1);
    }

    /** Before: boot removed the running VM's sockets and pid files and started a second VM beside it. */
    @Test
    void aRunDirectoryWhoseVmStillRunsIsRefusedAndLeftAsItIs() throws Exception {
        Path fake = qemu("sleep 300"); // not exec: the process keeps QEMU's name in its command line
        liveQemu = new ProcessBuilder("sh", fake.toString()).start();
        Path run = Files.createDirectories(dir.resolve("run"));
        Files.writeString(run.resolve("qemu.pid"), liveQemu.pid() + "\n");
        Files.writeString(run.resolve("agent.sock"), "stands for the running VM's socket");
        Process boot = boot(run);
        assertTrue(boot.waitFor(60, TimeUnit.SECONDS), bootOutput());
        assertEquals(1, boot.exitValue(), bootOutput());
        assertTrue(bootOutput().contains("a VM booted from " + run + " still runs (QEMU pid " + liveQemu.pid() + ")"),
                bootOutput());
        assertTrue(Files.exists(run.resolve("agent.sock")), "its socket is kept");
        assertEquals(liveQemu.pid() + "\n", Files.readString(run.resolve("qemu.pid")));
        assertTrue(liveQemu.isAlive());
        assertFalse(Files.exists(run.resolve("relay.pid")), "no relay was started");
    }
}
