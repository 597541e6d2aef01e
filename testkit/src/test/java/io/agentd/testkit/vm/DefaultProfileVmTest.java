package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.AgentClient;
import io.agentd.client.ExecResult;
import io.agentd.client.ExecSession;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import io.agentd.testkit.Guest;
import io.agentd.testkit.GuestVm;
import io.agentd.testkit.GuestVmExtension;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The default profile's VM (scripts/guest/vm-test's first VM, less its cgroup and restart checks,
 * which are {@link LimitsAndRestartsVmTest}'s): sessions through the kit's client and through agentctl
 * processes, several hosts on one VM through the relay, what a root session may do to the agent.
 * Needs the guest image (scripts/guest/build-image, as root) and QEMU; skipped without the image
 * (failed when it is required: CI). One VM, booted once for the class.
 */
@ExtendWith(GuestVmExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DefaultProfileVmTest {
    /** init's report of the agent's memory (scripts/guest/idle-rss reads it): checked below. */
    @Guest(kernelArgs = {"agentd.report-rss=5", "agentd.listen=unix:/run/agentd/agentd.sock"})
    static GuestVm vm;

    private static Agentctl agentctl() {
        return new Agentctl(vm);
    }

    @Test
    void coreReadyCarriesTheBootTimings() throws Exception {
        Ready ready = vm.ready();
        assertNotNull(ready, "no core.ready on the kit's connection (the relay passes the agent's on)");
        assertTrue(ready.bootTimeNs() > 0 && ready.readyTimeNs() >= ready.bootTimeNs(), ready.toString());
        // What agentctl wait-ready prints through the relay names the times since kernel boot.
        Agentctl.Result r = agentctl().run("wait-ready", "--timeout", "30s");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("since kernel boot"), r.stdout());
    }

    /**
     * agentd.report-rss=5: five seconds after starting the agent, init prints its memory, read from its
     * /proc/PID/status and smaps_rollup, as scripts/guest/idle-rss parses it.
     */
    @Test
    void initReportsTheAgentsMemoryWhenTheCommandLineAsks() throws Exception {
        Pattern report = Pattern.compile("init: agent memory \\(pid (\\d+), uptime [0-9.]+s\\):"
                + " VmRSS: (\\d+) RssAnon: (\\d+) RssFile: (\\d+) RssShmem: (\\d+) AnonHugePages: (\\d+)");
        Matcher line = null;
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); System.nanoTime() < deadline; ) {
            line = Files.readAllLines(vm.console().file(), StandardCharsets.ISO_8859_1).stream()
                    .map(report::matcher).filter(Matcher::find).findFirst().orElse(null);
            if (line != null) {
                break;
            }
            Thread.sleep(200);
        }
        assertNotNull(line, "no agent memory report on the console:\n" + vm.console().tail(20));
        String agentPid = vm.exec("sh", "-c", "echo $PPID").stdoutText().strip(); // a session's parent
        assertEquals(agentPid, line.group(1), line.group());
        long rss = Long.parseLong(line.group(2));
        long parts = Long.parseLong(line.group(3)) + Long.parseLong(line.group(4)) + Long.parseLong(line.group(5));
        assertEquals(rss, parts, "VmRSS is RssAnon + RssFile + RssShmem: " + line.group());
        assertTrue(rss > 16 * 1024 && rss < 256 * 1024, "a JVM's RSS in kB: " + line.group());
    }

    /** The image's /etc/agentd.env gives the agent two malloc arenas; a session's environment is its own. */
    @Test
    void theAgentHasTwoMallocArenasAndItsSessionsDoNot() throws Exception {
        String seen = vm.exec("sh", "-c", "tr '\\0' '\\n' < /proc/$PPID/environ | grep '^MALLOC_ARENA_MAX='; echo ---;"
                + " env | grep -c '^MALLOC_ARENA_MAX=' || true").stdoutText();
        assertEquals("MALLOC_ARENA_MAX=2\n---\n0\n", seen);
    }

    @Test
    void unameShowsTheGuestKernel() throws Exception {
        assertEquals(vm.image().kernelVersion() + "\n", vm.exec("uname", "-r").stdoutText());
    }

    /** The one check where a terminal is the point: agentctl -t on a pseudo-terminal that script(1) gives it. */
    @Test
    void aPtySessionSeesItsSize() throws Exception {
        StringBuilder command = new StringBuilder("stty rows 40 cols 100;");
        for (String word : agentctl().argv("exec", "-t", "--", "stty", "size")) {
            command.append(" '").append(word.replace("'", "'\\''")).append('\'');
        }
        Path out = vm.runDir().resolve("pty.out");
        Process script = new ProcessBuilder("script", "-qec", command.toString(), "/dev/null")
                .redirectInput(new File("/dev/null")).redirectOutput(out.toFile()).redirectErrorStream(true).start();
        assertTrue(script.waitFor(Agentctl.TIMEOUT.toSeconds(), TimeUnit.SECONDS), "script(1) still runs");
        assertEquals("40 100\n", Files.readString(out).replace("\r", ""));
    }

    @Test
    void userGuestRunsAsUid1000InItsHome() throws Exception {
        Agentctl.Result r = agentctl().run("exec", "-u", "guest", "--", "sh", "-c", "echo $(id -u) $HOME");
        assertEquals("1000 /home/guest\n", r.stdout(), r.toString());
    }

    @Test
    void anRlimitIsApplied() throws Exception {
        Agentctl.Result r = agentctl().run("exec", "--rlimit", "nofile=256", "--", "sh", "-c", "ulimit -n");
        assertEquals("256\n", r.stdout(), r.toString());
    }

    @Test
    void theAgentMayHold65536Fds() throws Exception {
        assertEquals("65536\n", InGuest.sh(vm, "awk '/open files/ {print $4}' /proc/$(pidof java)/limits"));
        // init gives soft = hard, so a session starts with the same (SessionOpenFiles puts back the soft one given)
        assertEquals("65536\n", InGuest.sh(vm, "ulimit -Sn"));
    }

    /** A command that outlives the kit's timeout is named in the TimeoutException, with the VM's run directory. */
    @Test
    void anExecTimeoutNamesTheCommandAndTheVm() {
        java.util.concurrent.TimeoutException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.TimeoutException.class, () -> vm.exec(Duration.ofMillis(300), "sleep", "7"));
        assertTrue(e.getMessage().startsWith("\"sleep 7\" in the guest of " + vm.runDir() + ": "), e.getMessage());
    }

    /** init sets madvise (Debian's kernel says "always"), so the agent's JVM, which asks for none, has none. */
    @Test
    void transparentHugePagesAreOnlyWhereAsked() throws Exception {
        assertEquals("always [madvise] never\n", InGuest.sh(vm, "cat /sys/kernel/mm/transparent_hugepage/enabled"));
        assertEquals("0\n", InGuest.sh(vm, "awk '/^AnonHugePages:/ {print $2}' /proc/$(pidof java)/smaps_rollup"));
    }

    @Test
    void aSigtermDeathExits143() throws Exception {
        assertEquals(143, agentctl().run("exec", "--", "sh", "-c", "kill -TERM $$").exit());
    }

    @Test
    void aMibOfStdinComesBackIntact() throws Exception {
        byte[] mib = new byte[1 << 20];
        new Random(7).nextBytes(mib);
        Path stdin = vm.runDir().resolve("stdin.bin");
        Files.write(stdin, mib);
        Agentctl.Result r = agentctl().run(stdin, "exec", "-i", "--", "cat");
        assertEquals(0, r.exit(), r.stderr());
        assertArrayEquals(mib, r.stdoutBytes(), "agentctl exec -i: the bytes that came back differ");
        ExecResult kit = vm.client().run(ExecRequest.of("cat"), mib, Duration.ofSeconds(45));
        assertArrayEquals(mib, kit.stdout(), "the kit's client: the bytes that came back differ");
    }

    /**
     * 8 agentctl processes at once, each in a session that sleeps 2 s and then waits until all 8 have
     * started theirs (so it passes only when the 8 run in the guest at the same time, whatever the
     * machine's load); the wall time beside one alone's is printed, as information.
     */
    @Test
    void eightAgentctlAtOnceThroughTheRelay() throws Exception {
        InGuest.sh(vm, "rm -rf /tmp/eight; mkdir /tmp/eight");
        long t0 = System.nanoTime();
        assertEquals(0, agentctl().run("exec", "--", "sh", "-c", "sleep 2").exit());
        long one = System.nanoTime() - t0;
        t0 = System.nanoTime();
        List<Agentctl.Started> started = new ArrayList<>();
        for (int n = 1; n <= 8; n++) {
            started.add(agentctl().start("exec", "--", "sh", "-c", "touch /tmp/eight/" + n + "; sleep 2;"
                    + " for i in $(seq 300); do [ $(ls /tmp/eight | wc -l) -ge 8 ] && echo " + n + " && exit 0;"
                    + " sleep 0.1; done; echo alone; exit 1"));
        }
        StringBuilder outputs = new StringBuilder();
        for (Agentctl.Started s : started) {
            Agentctl.Result r = Agentctl.await(s);
            assertEquals(0, r.exit(), r.toString());
            outputs.append(r.stdout().strip()).append(' ');
        }
        long all = System.nanoTime() - t0;
        System.out.printf("8 commands through the relay together: %d ms of wall time; one alone: %d ms%n",
                all / 1_000_000, one / 1_000_000);
        assertEquals("1 2 3 4 5 6 7 8 ", outputs.toString());
    }

    /**
     * The kit's client in one thread, a second client of the JVM in another, and an agentctl process,
     * each in a session that waits until the other two have started theirs: passes only when the
     * three run in the guest at the same time.
     */
    @Test
    void twoThreadsAndAnAgentctlProcessUseTheVmAtOnce() throws Exception {
        InGuest.sh(vm, "rm -rf /tmp/meet; mkdir /tmp/meet");
        String meet = "touch /tmp/meet/$0; for i in $(seq 300); do"
                + " [ $(ls /tmp/meet | wc -l) -ge 3 ] && echo met $0 && exit 0; sleep 0.1; done; echo alone $0; exit 1";
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (AgentClient second = vm.connect()) {
            Callable<String> kit = () -> vm.exec(Duration.ofSeconds(45), "sh", "-c", meet, "kit").stdoutText();
            Callable<String> own = () -> second.run(ExecRequest.of("sh", "-c", meet, "own"), Duration.ofSeconds(45))
                    .stdoutText();
            Future<String> a = threads.submit(kit);
            Future<String> b = threads.submit(own);
            Agentctl.Result c = agentctl().run("exec", "--", "sh", "-c", meet, "ctl");
            assertEquals("met kit\n", a.get(45, TimeUnit.SECONDS));
            assertEquals("met own\n", b.get(45, TimeUnit.SECONDS));
            assertEquals("met ctl\n", c.stdout(), c.toString());
            assertTrue(vm.relayClients() >= 2, "the relay serves the kit's client and the second: " + vm.relayClients());
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * Relay flow control over the real port: an agentctl whose stdout nobody reads stops reading its
     * socket; the relay pauses its range at the guest's agent and goes on serving the others (with
     * the relay alone it would stop reading the port, and the next agentctl would not even get its
     * core.ready). Then every byte of the held one arrives.
     */
    @Test
    void aClientThatDoesNotReadHoldsUpNoOtherAgentctl() throws Exception {
        long flood = 64L << 20;
        Process slow = new ProcessBuilder(agentctl().argv("exec", "--", "head", "-c", Long.toString(flood), "/dev/zero"))
                .redirectInput(new File("/dev/null"))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start(); // its stdout is a pipe nobody reads yet
        try {
            Thread.sleep(5000); // under TCG the flood fills every buffer up to the relay's mark by then
            Agentctl.Result other = agentctl().run("exec", "--", "echo", "served");
            assertEquals("served\n", other.stdout(), other.toString());
            long got = slow.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            assertTrue(slow.waitFor(45, TimeUnit.SECONDS), "the held agentctl ended");
            assertEquals(0, slow.exitValue());
            assertEquals(flood, got, "every byte of the held client");
        } finally {
            slow.destroyForcibly();
        }
    }

    /**
     * The same inside one connection, from Java: a session of the GuestVm's own client whose stdout()
     * nobody reads is held at the guest's agent (core.relay.client.paused for its one id, forwarded by
     * the relay), so the next command on that client runs; before, the full stream stopped the
     * client's reader and the command's exit never came. Then every byte of the held one arrives.
     */
    @Test
    void aSessionWhoseStreamNobodyReadsHoldsUpNothingElseOnItsClient() throws Exception {
        long flood = 16L << 20;
        ExecSession unread = vm.client().startWithStreams(
                ExecRequest.of("head", "-c", Long.toString(flood), "/dev/zero"));
        unread.awaitStarted(Duration.ofSeconds(30));
        Thread.sleep(3000); // under TCG the flood fills the stream and what is in flight by then
        ExecResult echo = vm.client().run(ExecRequest.of("echo", "served"), Duration.ofSeconds(30));
        assertEquals("served\n", new String(echo.stdout(), StandardCharsets.UTF_8));
        long got = unread.stdout().transferTo(java.io.OutputStream.nullOutputStream());
        assertEquals(0, unread.awaitExit(Duration.ofSeconds(60)).code());
        assertEquals(flood, got, "every byte of the held session");
    }

    @Test
    void aHostKilledMidSessionAndTheNextIsServed() throws Exception {
        Agentctl.Started doomed = agentctl().start("exec", "--", "sh", "-c", "echo started; sleep 8; : vanished-host");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!doomed.stdoutSoFar().contains("started") && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(doomed.stdoutSoFar().contains("started"), "the session did not start");
        doomed.process().destroyForcibly().waitFor(); // scripts/agentctl execs the JVM: this is the client
        Agentctl.Result r = agentctl().run("exec", "--", "echo", "next-host");
        assertEquals("next-host\n", r.stdout(), r.toString());
    }

    /**
     * vsock: init starts the agent on vsock port 1024 as well as on the virtio port, and vsock cannot
     * name a peer on the guest itself (any process, whatever its uid): connections through
     * vsock_loopback (CID 1) are each told they are refused (core.error on id 0) and never greeted.
     * LimitsAndRestartsVmTest boots with agentd.vsock-local=serve and sees them served.
     */
    @Test
    void vsockPeersOnTheGuestItselfAreEachToldTheyAreRefused() throws Exception {
        assertEquals("core.error\nown machine\n".repeat(3), InGuest.vsockGreetings(vm, 3));
    }

    // From the host over vsock: a test here once agentctl speaks vsock and the kit (and boot) give QEMU
    // a vhost-vsock-pci device with a guest CID (vm-test's COORDINATOR note, "agentctl reaches the
    // agent over vsock").

    /** The fs family through the relay: a file into the guest and back with the kit's client.files(). */
    @Test
    void aFileGoesInAndOutWithClientFiles() throws Exception {
        byte[] data = new byte[3 << 20];
        new Random(11).nextBytes(data);
        Path local = Files.write(vm.runDir().resolve("files-in.bin"), data);
        assertEquals(data.length, vm.client().files().upload(local, "/tmp/files.bin"));
        assertEquals(sha256(data) + "  /tmp/files.bin\n", InGuest.sh(vm, "sha256sum /tmp/files.bin"));
        Path back = vm.runDir().resolve("files-out.bin");
        assertEquals(data.length, vm.client().files().download("/tmp/files.bin", back));
        assertArrayEquals(data, Files.readAllBytes(back));
    }

    /**
     * agentctl cp as a process through the relay: 64 MiB in, its SHA-256 checked in the guest, and back
     * out, the same bytes (a 64 MiB copy through the emulated serial port takes seconds each way).
     */
    @Test
    void agentctlCpCopies64MibInAndOut() throws Exception {
        byte[] data = new byte[64 << 20];
        new Random(13).nextBytes(data);
        Path local = Files.write(vm.runDir().resolve("cp-in.bin"), data);
        Path back = vm.runDir().resolve("cp-out.bin");
        try {
            Agentctl.Result in = agentctl().run(COPY_TIMEOUT, "cp", local.toString(), ":/tmp/cp.bin");
            assertEquals(0, in.exit(), in.toString());
            assertEquals(sha256(data) + "  /tmp/cp.bin\n", InGuest.sh(vm, "sha256sum /tmp/cp.bin"));
            Agentctl.Result out = agentctl().run(COPY_TIMEOUT, "cp", ":/tmp/cp.bin", back.toString());
            assertEquals(0, out.exit(), out.toString());
            assertEquals(sha256(data), sha256(Files.readAllBytes(back)), "the SHA-256 of what came back");
        } finally {
            Files.deleteIfExists(local);
            Files.deleteIfExists(back);
            InGuest.sh(vm, "rm -f /tmp/cp.bin");
        }
    }

    /** A long copy: 64 MiB through the emulated serial port takes seconds each way under TCG. */
    private static final Duration COPY_TIMEOUT = Duration.ofSeconds(90);

    /** 16 MiB into an 8 MiB tmpfs: exit 1, ENOSPC's text, and nothing left there (no temp file either). */
    @Test
    void agentctlCpIntoAFullTmpfsFailsWithEnospcAndLeavesNothing() throws Exception {
        Path local = sixteenMib("full.bin");
        InGuest.sh(vm, "mkdir -p /mnt/small && mount -t tmpfs -o size=8m none /mnt/small");
        try {
            Agentctl.Result r = agentctl().run(COPY_TIMEOUT, "cp", local.toString(), ":/mnt/small/x");
            assertEquals(1, r.exit(), r.toString());
            assertTrue(r.stderr().contains("No space left on device"), r.toString());
            assertEquals("", InGuest.sh(vm, "ls -A /mnt/small"), "what the failed copy left in the tmpfs");
        } finally {
            Files.deleteIfExists(local);
            InGuest.sh(vm, "umount /mnt/small");
        }
    }

    /** cp -u nobody into /root (0700, root's): exit 1, permission denied, /root as it was. */
    @Test
    void agentctlCpAsNobodyIntoRootIsDeniedAndLeavesRootUnchanged() throws Exception {
        Path local = sixteenMib("nobody.bin");
        try {
            String before = InGuest.sh(vm, "ls -A /root");
            Agentctl.Result r = agentctl().run(COPY_TIMEOUT, "cp", "-u", "nobody", local.toString(), ":/root/x");
            assertEquals(1, r.exit(), r.toString());
            assertTrue(r.stderr().contains("Permission denied"), r.toString());
            assertEquals(before, InGuest.sh(vm, "ls -A /root"), "/root after the denied copy");
        } finally {
            Files.deleteIfExists(local);
        }
    }

    private static Path sixteenMib(String name) throws Exception {
        byte[] data = new byte[16 << 20];
        new Random(17).nextBytes(data);
        return Files.write(vm.runDir().resolve(name), data);
    }

    /**
     * The image's own client: a session runs the guest's agentctl, which reaches the agent of its own
     * VM through a unix socket the agent serves in the guest (agentd.listen=unix:/run/agentd/agentd.sock,
     * agentctl's default address), and the session it asks for prints "hi". Over vsock_loopback it is
     * refused, and says so.
     */
    @Test
    void theGuestsAgentctlReachesTheAgentThroughItsUnixSocketNotVsock() throws Exception {
        assertEquals("0 \nhi\n", InGuest.guestAgentctlEchoHi(vm, ""), "exit status, stderr's first line; stdout");
        String overVsock = InGuest.guestAgentctlEchoHi(vm, "--socket vsock:1:" + InGuest.VSOCK_PORT);
        assertTrue(overVsock.startsWith("125 agentctl: vsock:1:1024 refused the connection: invalid_session: this agent"
                + " does not serve vsock connections from its own machine (cid 1, port "), overVsock);
    }

    /** The guest's agentctl pings through the unix socket, a line per pong, then their summary (many-sessions' pinger). */
    @Test
    void theGuestsAgentctlPingsALinePerPong() throws Exception {
        String out = InGuest.guestAgentctlPing(vm, 3);
        assertTrue(out.matches("0 \n(pong from /run/agentd/agentd.sock: time=[0-9.]+ ms\n){3}"
                + "3 pongs: min/avg/max = [0-9.]+/[0-9.]+/[0-9.]+ ms\n"), out);
    }

    private static String sha256(byte[] data) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
    }

    @Test
    void theDefaultProfileKeepsCapSysAdmin() throws Exception {
        assertEquals("NoNewPrivs=0 sys_admin_eff=1 sys_admin_bnd=1", InGuest.sessionPrivileges(vm));
    }

    @Test
    void aCwdWithANewlineGivesOneEscapedLogLine() throws Exception {
        String forged = "INFO  Session: session 99 exited: code=0 FORGED";
        String dir = "/tmp/d\n" + forged;
        assertEquals(0, vm.exec("mkdir", "-p", dir).exitCode());
        Agentctl.Result r = agentctl().run("exec", "-w", dir, "--", "true");
        assertEquals(0, r.exit(), r.toString());
        Thread.sleep(1000); // the agent's log line reaches the console file
        String console = Files.readString(vm.console().file(), StandardCharsets.ISO_8859_1).replace("\r", "");
        long forgedLines = console.lines().filter(l -> l.startsWith(forged)).count();
        long escaped = console.lines().filter(l -> l.contains("d\\n" + forged)).count();
        assertEquals("0 1", forgedLines + " " + escaped, "lines starting with the forged text, lines with it escaped");
    }

    @Test
    void initMadeTheAgentsFilesReadOnly() throws Exception {
        assertEquals("done\n", InGuest.sh(vm, InGuest.WRITE_AGENT_FILES));
    }

    /**
     * The guest's init sets no locale: the agent's JVM encoded file names as ASCII and refused every
     * fs path past it (EINVAL, "Malformed input or input contains unmappable characters"). The
     * launcher runs it under C.UTF-8, which the image carries. The name goes as UTF-8 on the wire,
     * whatever this JVM's own charset.
     */
    @Test
    void theAgentTakesPathsPastAscii() throws Exception {
        String dir = "/tmp/caf\u00e9-\u00fc";
        try (AgentClient client = vm.connect()) {
            client.files().mkdir(dir, 0755L);
            assertEquals(dir, client.files().realPath(dir));
        }
        assertEquals("yes\n", InGuest.sh(vm, "[ -d /tmp/caf\u00e9-\u00fc ] && echo yes || echo no"));
    }

    /**
     * Nothing the agent and agentctl do not load ships in the image (its files are guest RAM): jffi's
     * JNI stub for the guest's architecture alone, not the dist's eleven; ASM's core jar without the
     * four jnr-ffi's pom brings; commons-compress without commons-codec; no jnr-constants (glibc
     * names errnos through native-shim).
     */
    @Test
    void theImageCarriesNoLibraryNothingLoads() throws Exception {
        assertEquals("x86_64-Linux\n", InGuest.sh(vm, "ls /opt/agentd/native/jni"));
        assertEquals("none\n", InGuest.sh(vm, "ls /opt/agentd/lib /opt/agentctl/lib"
                + " | grep -E '^(asm-(analysis|commons|tree|util)|commons-codec)-' || echo none"));
    }

    @Test
    void theAgentRunsOnTheAppCdsArchive() throws Exception {
        assertEquals("yes\n", InGuest.sh(vm, "grep -q /opt/agentd/agentd.jsa /proc/$(pidof java)/maps && echo yes || echo no"));
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void shutdownPowersOffAndQemuExits0() throws Exception {
        assertNotEquals(0, vm.pid());
        Shutdown.powersOffAndQemuExits0(vm);
    }
}
