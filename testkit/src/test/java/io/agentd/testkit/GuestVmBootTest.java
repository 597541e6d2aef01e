package io.agentd.testkit;

import static io.agentd.testkit.GuestImageTest.assertContains;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.ConnectionLostException;
import io.agentd.client.ExecResult;
import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real guests under QEMU (TCG: 10-30 s a boot). Needs the image of scripts/guest/build-image (which
 * needs root to build); skipped, with the reason, without one (failed when {@link GuestImage#required()}). Two boots,
 * two guests that panic, one the test powers off, one whose agent it stops, one whose agent refuses its
 * options, one boot that never gets ready, and one whose first try hangs.
 */
class GuestVmBootTest {
    /** A kernel panic (sysrq c): QEMU then exits 0, as after a clean power-off. */
    private static final String[] PANIC = {"sh", "-c", "echo c > /proc/sysrq-trigger"};

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsAnImage() {
        GuestVmExtension.requireImage(); // skips without an image, or fails when one is required
    }

    @Test
    void bootsRunsCommandsAndPowersOff() throws Exception {
        // Booted from a thread that then ends: QEMU's parent-death signal must not follow that thread.
        AtomicReference<Object> booted = new AtomicReference<>();
        Thread booter = new Thread(() -> {
            try {
                booted.set(GuestVm.builder().memoryMib(512).boot());
            } catch (Exception e) {
                booted.set(e);
            }
        });
        booter.start();
        booter.join();
        if (booted.get() instanceof Exception e) {
            throw e;
        }
        GuestVm vm = (GuestVm) booted.get();
        Path runDir = vm.runDir();
        try {
            Thread.sleep(500); // time for a parent-death signal to land, were it sent
            assertEquals(OptionalInt.empty(), vm.awaitExit(Duration.ofMillis(200)), "a running VM: awaitExit times out");
            assertEquals(vm.image().kernelVersion() + "\n", vm.exec("uname", "-r").stdoutText());
            ExecResult r = vm.exec("sh", "-c", "echo out; echo err >&2; exit 3");
            assertEquals("out\n", r.stdoutText());
            assertEquals("err\n", r.stderrText());
            assertEquals(3, r.exitCode());

            assertNotNull(vm.ready(), "core.ready on the kit's connection");
            assertNotNull(vm.client().relayRange(), "the kit's client is behind the relay");
            assertEquals(1, vm.relayClients(), "the relay serves the kit's client");
            assertTrue(vm.bootToReady().compareTo(Duration.ZERO) > 0 && vm.bootToReady().compareTo(Duration.ofSeconds(180)) < 0,
                    vm.bootToReady().toString());
            assertTrue(vm.console().contains("init: starting agentd"), vm.console().tail(20));
            List<String> agentLog = vm.console().agentLines();
            assertFalse(agentLog.isEmpty(), "no agent log line in:\n" + vm.console().tail(40));
            assertTrue(agentLog.stream().noneMatch(l -> l.startsWith("init:")), agentLog.toString());
            String diagnostics = GuestVmExtension.diagnostics(vm).getMessage();
            assertContains(new Exception(diagnostics), "init: starting agentd");
            assertContains(new Exception(diagnostics), "--- agent log, last 100 of " + agentLog.size());
            // The kit's client closed (by the test, or by the relay when the agent died mid-frame):
            // close powers the guest off all the same, on a connection of its own.
            vm.client().close();
        } finally {
            // With the test's interrupt flag set (kept by an interrupted call, a @Timeout): close still
            // asks for the shutdown and removes the run directory, and leaves the flag set. Before, its
            // first wait threw at once: QEMU killed, the directory left behind unnamed.
            Thread.currentThread().interrupt();
            vm.close();
            assertTrue(Thread.interrupted(), "close leaves the interrupt flag as it found it");
        }
        assertEquals(OptionalInt.of(0), vm.exitStatus(), "QEMU's exit status after core.shutdown");
        vm.close(); // again: nothing happens
        assertThrows(IllegalStateException.class, vm::client);
        assertFalse(Files.exists(runDir), "the temporary run directory is removed after a clean power-off");
    }

    @Test
    void aGuestThatCrashedKeepsItsConsoleAfterClose() throws Exception {
        Path runDir;
        GuestVm crashed;
        // As a user's test meets it: the failure leaves try-with-resources, which closes the VM at once.
        try (GuestVm vm = GuestVm.builder().memoryMib(512).vcpus(1).boot()) {
            runDir = vm.runDir();
            crashed = vm;
            ExecRequest panic = ExecRequest.of(PANIC[0], PANIC[1], PANIC[2]);
            assertThrows(IOException.class, () -> vm.client().run(panic, Duration.ofMinutes(1)));
        }
        try {
            assertTrue(Files.isDirectory(runDir), "the console of a guest that ended by itself was deleted by close");
            assertTrue(crashed.console().contains("Kernel panic"), crashed.console().tail(20));
            assertEquals(OptionalInt.of(0), crashed.exitStatus(), "QEMU's exit after the panic (panic=-1, -no-reboot)");
        } finally {
            deleteTree(runDir);
        }
    }

    @Test
    void aBootWhoseFirstTryHangsIsReadyOnItsSecond() throws Exception {
        // The first QEMU "hangs" as CI's did (its console shows init, then a soft lockup); the second is QEMU.
        Path tried = tmp.resolve("tried");
        Path hangsOnce = FakeQemu.create(tmp, "hangs-once", "if [ ! -e '" + tried + "' ]; then : > '" + tried + "';"
                + " printf '%s' '" + HungBootTest.LOCKED_UP + "' > \"$console\"; exec sleep 600; fi;"
                + " exec " + QemuCommand.DEFAULT_BINARY + " \"$@\"");
        try (GuestVm vm = GuestVm.builder().memoryMib(512).vcpus(1).qemuBinary(hangsOnce.toString()).accel(Accel.TCG).boot()) {
            assertEquals("ok\n", vm.exec("echo", "ok").stdoutText());
            assertTrue(Files.readString(vm.runDir().resolve("console-hung-1.log")).contains("stuck for 45s"));
            assertTrue(vm.console().contains("init: starting agentd"), "console.log is the second try's: " + vm.console().tail(20));
            assertFalse(vm.console().contains("stuck for 45s"), vm.console().tail(20));
        }
    }

    @Test
    void aGuestTheTestPowersOffLeavesNoFiles() throws Exception {
        Path runDir;
        try (GuestVm vm = GuestVm.builder().memoryMib(512).vcpus(1).boot()) {
            runDir = vm.runDir();
            ConnectionLostException lost = assertThrows(ConnectionLostException.class, () -> vm.exec("poweroff", "-f"));
            assertContains(lost, "QEMU exited with status 0 (the guest powered off)");
        }
        boolean left = Files.exists(runDir);
        deleteTree(runDir);
        assertFalse(left, "a guest powered off from inside is a clean end: its temporary run directory stays behind");
    }

    @Test
    void execSaysTheGuestIsGoneWithItsConsole() throws Exception {
        GuestVm vm = GuestVm.builder().memoryMib(512).vcpus(1).boot();
        try {
            ConnectionLostException lost = assertThrows(ConnectionLostException.class,
                    () -> vm.exec(PANIC));
            assertContains(lost, "QEMU exited with status 0 (the guest ended without powering off: a kernel panic or a reset)");
            assertEquals(1, lost.getSuppressed().length, "the console's tail is attached");
            assertContains(lost.getSuppressed()[0], "Kernel panic");
        } finally {
            vm.close();
            deleteTree(vm.runDir());
        }
    }

    /**
     * close() while another thread of the test is stuck writing on the kit's client: a ping flood
     * that the agent, stopped (SIGSTOP from a session), no longer reads. Before, close() waited for
     * the client's write lock for ever and QEMU was never killed; now the shutdown gets the shutdown
     * timeout, then QEMU is killed and the stuck write ends with the closed client.
     */
    @Test
    void closeEndsTheGuestEvenWhileAnotherThreadIsStuckWritingToIt() throws Exception {
        GuestVm vm = GuestVm.builder().memoryMib(512).vcpus(1).shutdownTimeout(Duration.ofSeconds(5)).boot();
        try {
            assertThrows(java.util.concurrent.TimeoutException.class,
                    () -> vm.exec(Duration.ofSeconds(5), "sh", "-c", "kill -STOP $(pidof java)"));
            AtomicReference<Exception> floodEnd = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
            // 256 KiB a request, so that the relay's and the sockets' buffers fill in a few dozen
            ExecRequest big = ExecRequest.of("true", "x".repeat(256 * 1024));
            Thread flood = new Thread(() -> {
                try {
                    while (true) {
                        vm.client().call(io.agentd.protocol.MessageType.EXEC_REQUEST, big);
                        sent.incrementAndGet();
                    }
                } catch (IOException | RuntimeException e) {
                    floodEnd.set(e); // the closed client ends the flood
                }
            }, "request-flood");
            flood.setDaemon(true);
            flood.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            long before = -1;
            while (!(stuckInWrite(flood) && sent.get() == before)) { // no request went out for 3 s
                before = sent.get();
                assertTrue(flood.isAlive(), () -> "the flood ended before its writes blocked: " + floodEnd.get());
                assertTrue(System.nanoTime() < deadline, "the flood's writes never blocked within 120 s");
                Thread.sleep(2800);
            }
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60), vm::close,
                    "close() hung behind the stuck write");
            assertFalse(ProcessAlive.of(vm.pid()), "QEMU " + vm.pid() + " still runs after close()");
            flood.join(10_000);
            assertFalse(flood.isAlive(), "the stuck write did not end with the closed client");
        } finally {
            vm.close();
            deleteTree(vm.runDir());
        }
    }

    /** The same stack twice, 200 ms apart, inside writeFully: the thread is in the write, not passing through. */
    private static boolean stuckInWrite(Thread t) throws InterruptedException {
        StackTraceElement[] first = t.getStackTrace();
        Thread.sleep(200);
        return java.util.Arrays.equals(first, t.getStackTrace())
                && java.util.Arrays.stream(first).anyMatch(e -> e.getMethodName().equals("writeFully"));
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // already gone
        }
    }

    /**
     * An agent that refuses its options (a bad agentd.* kernel argument: exit 2) is not restarted every
     * second for ever, a VM that never gets ready: init powers the guest off, and the boot fails as
     * soon as QEMU exits, with init's line on the console in the exception.
     */
    @Test
    void anAgentThatRefusesItsOptionsPowersTheGuestOffAndTheBootSaysWhy() throws Exception {
        Path run = tmp.resolve("bad-option");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().runDir(run).memoryMib(512)
                .vcpus(1).kernelArgs("agentd.log-level=loud").bootTimeout(Duration.ofSeconds(90)).boot());
        assertContains(e, "QEMU exited with status 0 before the agent was ready");
        assertContains(e, "agentd refused its options (exit 2");
    }

    @Test
    void aGuestThatNeverGetsReadyTimesOutWithItsConsoleInTheException() throws Exception {
        // The agent serves a virtio port of another name (and no vsock) instead of the kit's: up, but never ready.
        Path run = tmp.resolve("run");
        GuestVmException e = assertThrows(GuestVmException.class, () -> GuestVm.builder().runDir(run)
                .kernelArgs("agentd.port-name=elsewhere", "agentd.vsock=none").bootTimeout(Duration.ofSeconds(60)).boot());
        assertContains(e, "the agent was not ready within 60s");
        assertContains(e, "--- console, last 40 lines (" + run.resolve("console.log") + "):\n");
        assertContains(e, "init: starting agentd");
        long pid = Long.parseLong(Files.readString(run.resolve("qemu.pid")).strip());
        assertFalse(ProcessAlive.of(pid), "QEMU " + pid + " still runs after the failed boot");
    }
}
