package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.ExitStatus;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ResourceUsage;
import io.agentd.protocol.payload.Rlimit;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExecOptionsTest {

    /** With an empty host environment: -e NAME finds nothing, whatever runs the test. */
    private static ExecOptions parse(String... argv) throws UsageException {
        return ExecOptions.parse(List.of(argv), name -> null);
    }

    @Test
    void everyOptionLandsInTheRequest() throws Exception {
        ExecOptions o = parse("-i", "-t", "-e", "A=1", "--env=B=2=3", "-eC=", "-w", "/tmp", "-u", "nobody:nogroup",
                "--rlimit", "nofile=64:128", "--rlimit=cpu=unlimited", "--timeout", "1.5s", "--", "ls", "-l", "/");
        assertTrue(o.interactive());
        assertTrue(o.tty());
        ExecRequest r = o.toRequest(33, 101, List.of());
        assertEquals("ls", r.cmd());
        assertEquals(List.of("-l", "/"), r.args());
        assertEquals(List.of("A=1", "B=2=3", "C="), r.env());
        assertEquals("/tmp", r.cwd());
        assertEquals("nobody:nogroup", r.user());
        assertTrue(r.tty());
        assertEquals(33, r.rows());
        assertEquals(101, r.cols());
        assertEquals(List.of(new Rlimit("nofile", 64, 128), new Rlimit("cpu", Rlimit.INFINITY, Rlimit.INFINITY)),
                r.rlimits());
        assertEquals(1500L, r.timeoutMs());
    }

    @Test
    void cgroupLimitsAndStats() throws Exception {
        ExecOptions o = parse("--memory", "33554432", "--pids=64", "--stats", "make");
        assertTrue(o.stats());
        ExecRequest r = o.toRequest(24, 80, List.of());
        assertEquals(33554432L, r.memoryMax());
        assertEquals(64L, r.pidsMax());
        ExecRequest none = parse("true").toRequest(24, 80, List.of());
        assertNull(none.memoryMax());
        assertNull(none.pidsMax());
        assertFalse(parse("true").stats());
        assertEquals(32L << 20, parse("--memory", "32m", "true").memoryMax());
        assertEquals(512L << 10, parse("--memory=512KiB", "true").memoryMax());
        assertEquals(2L << 30, parse("--memory", "2G", "true").memoryMax());
        assertThrows(UsageException.class, () -> parse("--memory", "32x", "true"));
        assertThrows(UsageException.class, () -> parse("--memory", "-1", "true"));
        assertThrows(UsageException.class, () -> parse("--memory", "9000000000g", "true"));
        assertThrows(UsageException.class, () -> parse("--pids", "-1", "true"));
    }

    @Test
    void statsLineSaysUnknownForWhatTheAgentDidNotCount() {
        assertEquals("agentctl: stats: cpu_user_us=1500 cpu_system_us=20 memory_peak_bytes=unknown oom_killed=unknown",
                ExecCommand.statsLine(new ExitStatus(0, null, false, new ResourceUsage(1500L, 20L, null, null))));
        assertEquals("agentctl: stats: cpu_user_us=unknown cpu_system_us=unknown memory_peak_bytes=unknown "
                + "oom_killed=unknown", ExecCommand.statsLine(new ExitStatus(0, null, false)));
    }

    /** "-u=root" is "-u root", as docker takes it; before, the user was "=root" (and -w, -e alike). */
    @Test
    void aShortOptionsValueAfterAnEqualsSignIsTheValue() throws Exception {
        ExecRequest r = parse("-u=root", "-w=/tmp", "-e=A=b", "true").toRequest(24, 80, List.of());
        assertEquals("root", r.user());
        assertEquals("/tmp", r.cwd());
        assertTrue(r.env().contains("A=b"), r.env().toString());
        assertEquals("nobody", parse("-unobody", "true").toRequest(24, 80, List.of()).user(), "attached, as before");
        assertThrows(UsageException.class, () -> parse("-u=", "true"), "an empty value, not the next argument");
    }

    /** A letter that takes a value may end a cluster, as docker takes it; before, "-itu root" was refused. */
    @Test
    void aClusterMayEndWithALetterThatTakesAValue() throws Exception {
        ExecOptions o = parse("-itu", "root", "id");
        ExecRequest r = o.toRequest(24, 80, List.of());
        assertTrue(o.interactive() && r.tty());
        assertEquals("root", r.user());
        assertEquals(List.of(), r.args(), "the command is id, with no arguments");
        assertEquals("id", r.cmd());
        ExecRequest attached = parse("-tunobody", "-ieA=b", "-iw/tmp", "true").toRequest(24, 80, List.of());
        assertEquals("nobody", attached.user());
        assertTrue(attached.env().contains("A=b"), attached.env().toString());
        assertEquals("/tmp", attached.cwd());
        assertTrue(assertThrows(UsageException.class, () -> parse("-iu")).getMessage().contains("missing value"));
    }

    @Test
    void flagsCluster() throws Exception {
        ExecOptions o = parse("-it", "bash");
        assertTrue(o.interactive());
        assertTrue(o.tty());
        assertEquals("bash", o.cmd());
        ExecOptions p = parse("-ti", "--", "bash");
        assertTrue(p.interactive() && p.tty());
        ExecOptions d = parse("-td", "top");
        assertTrue(d.tty() && d.detach());
    }

    @Test
    void optionsEndAtTheCommandSoItsOwnFlagsPassThrough() throws Exception {
        ExecOptions o = parse("-i", "grep", "-i", "-e", "x");
        assertTrue(o.interactive());
        assertEquals("grep", o.cmd());
        assertEquals(List.of("-i", "-e", "x"), o.args());
        assertTrue(o.env().isEmpty());
    }

    @Test
    void withoutTtyTheSizeIsTheDefaultAndNoTimeoutIsSent() throws Exception {
        ExecRequest r = parse("true").toRequest(50, 200, List.of());
        assertFalse(r.tty());
        assertEquals(ExecRequest.DEFAULT_ROWS, r.rows());
        assertEquals(ExecRequest.DEFAULT_COLS, r.cols());
        assertNull(r.timeoutMs());
        assertNull(r.cwd());
        assertNull(r.user());
    }

    @Test
    void localTermGoesFirstAndAnExplicitTermWins() throws Exception {
        assertEquals(List.of("TERM=xterm", "A=1"), parse("-t", "-e", "A=1", "sh").toRequest(1, 1, List.of("TERM=xterm")).env());
        assertEquals(List.of("TERM=dumb"), parse("-t", "-e", "TERM=dumb", "sh").toRequest(1, 1, List.of("TERM=xterm")).env());
    }

    @Test
    void aHardLimitDefaultsToTheSoftOne() throws Exception {
        assertEquals(new Rlimit("nproc", 10, 10), ExecOptions.rlimit("NPROC=10"));
        assertEquals(new Rlimit("as", 1L << 30, Rlimit.INFINITY), ExecOptions.rlimit("as=1073741824:infinity"));
    }

    /**
     * -e NAME, without a value, passes this process's NAME (docker's, podman's and kubectl's -e), and
     * sets nothing where this process has no NAME: unset in the command, not empty. It was refused.
     */
    @Test
    void anEnvNameWithoutAValueTakesTheHostsOrNone() throws Exception {
        Map<String, String> host = Map.of("HOSTVAR", "from host=yes", "EMPTY", "");
        ExecOptions o = ExecOptions.parse(List.of("-e", "HOSTVAR", "--env=EMPTY", "-e", "ABSENT", "--env", "A=1",
                "-ite", "HOSTVAR", "sh"), host::get);
        assertEquals(List.of("HOSTVAR=from host=yes", "EMPTY=", "A=1", "HOSTVAR=from host=yes"), o.env());
        assertEquals("sh", o.cmd());
        assertTrue(o.interactive() && o.tty());
        // unset on the host: nothing in the request, so the command's own TERM stays as it would be
        assertEquals(List.of("TERM=xterm"), ExecOptions.parse(List.of("-t", "-e", "TERM", "sh"), host::get)
                .toRequest(1, 1, List.of("TERM=xterm")).env());
    }

    @Test
    void badCommandLinesAreUsageErrors() {
        assertThrows(UsageException.class, () -> parse());
        assertThrows(UsageException.class, () -> parse("-i"));
        assertThrows(UsageException.class, () -> parse("-i", "--"));
        assertThrows(UsageException.class, () -> parse("-x", "ls"));
        assertThrows(UsageException.class, () -> parse("-ix", "ls"));
        assertThrows(UsageException.class, () -> parse("--bogus", "ls"));
        assertThrows(UsageException.class, () -> parse("--tty=yes", "ls"));
        assertThrows(UsageException.class, () -> parse("-e", "", "ls"));
        assertThrows(UsageException.class, () -> parse("-e", "=v", "ls"));
        assertThrows(UsageException.class, () -> parse("-e", "=", "ls"));
        assertThrows(UsageException.class, () -> parse("-w"));
        assertThrows(UsageException.class, () -> parse("--rlimit", "bogus=1", "ls"));
        assertThrows(UsageException.class, () -> parse("--rlimit", "nofile=x", "ls"));
        assertThrows(UsageException.class, () -> parse("--rlimit", "nofile=1:2:3", "ls"));
        assertThrows(UsageException.class, () -> parse("--rlimit", "nofile", "ls"));
        assertThrows(UsageException.class, () -> parse("--timeout", "soon", "ls"));
        assertThrows(UsageException.class, () -> parse("--timeout", "0", "ls"));
    }

    @Test
    void durationsTakeUnits() throws Exception {
        assertEquals(Duration.ofMillis(500), Durations.parse("t", "500ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("t", "10"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("t", "10s"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("t", "1.5s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("t", "5m"));
        assertEquals(Duration.ofHours(2), Durations.parse("t", "2h"));
        assertThrows(UsageException.class, () -> Durations.parse("t", "-1s"));
        assertThrows(UsageException.class, () -> Durations.parse("t", "1d"));
        assertThrows(UsageException.class, () -> Durations.parse("t", ""));
    }
}
