package io.agentd.agent;

import io.agentd.agent.spawn.Profile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.session.cgroup.SessionsMemoryMax;
import io.agentd.agent.session.retain.RetentionLimits;
import io.agentd.agent.transport.HostLossPolicy;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class AgentOptionsTest {

    @Test
    void aPortAndSocketsAreServedTogether() throws Exception {
        AgentOptions o = AgentOptions.parse("--port-name", "agent", "--listen", "vsock:1024", "--listen",
                "unix:/run/a.sock", "--max-connections", "8");
        assertTrue(o.servesPort());
        assertEquals("agent", o.portName());
        assertEquals(List.of(new ListenAddress.Vsock(1024), new ListenAddress.Unix(Path.of("/run/a.sock"))),
                o.listen());
        assertEquals(8, o.maxConnections());
        AgentOptions tty = AgentOptions.parse("--port", "/dev/hvc1", "--listen", "vsock:4294967294");
        assertEquals(Path.of("/dev/hvc1"), tty.port());
        assertNull(tty.portName());
        assertEquals(List.of(new ListenAddress.Vsock(4294967294L)), tty.listen());
    }

    @Test
    void defaultsServeTheVirtioPortNamedAgent() throws Exception {
        AgentOptions o = AgentOptions.parse();
        assertEquals("agent", o.portName());
        assertNull(o.port());
        assertEquals(List.of(), o.listen());
        assertTrue(o.servesPort());
        assertEquals(64, o.maxConnections());
        assertEquals(Profile.DEFAULT, o.sessionDefaults().profile());
        assertEquals(250, o.sessionDefaults().drainMillis());
        assertEquals(2000, o.sessionDefaults().graceMillis());
        assertEquals(1 << 20, o.highWater());
        assertEquals(5000, o.stallWarnMillis());
        assertEquals(10_000, o.frameTimeoutMillis());
        assertEquals(16 << 20, o.sessionDefaults().stdinLimit());
        assertEquals("info", o.logLevel());
        assertEquals(List.of(), o.sessionDefaults().env());
        assertEquals(Path.of("/run/agentd"), o.stateDir());
        assertFalse(o.help());
    }

    @Test
    void retentionOptionsHaveDefaultsAndAreChecked() throws Exception {
        assertEquals(RetentionLimits.DEFAULTS, AgentOptions.parse().retention());
        assertEquals(new RetentionLimits(64 << 10, 1 << 20, 5000), AgentOptions.parse("--session-buffer", "64k",
                "--session-buffer-total=1m", "--retain-exited", "5").retention());
        assertEquals(0, AgentOptions.parse("--retain-exited", "0").retention().retainExitedMillis());
        assertTrue(assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse("--session-buffer", "2m",
                "--session-buffer-total", "1m")).getMessage().contains("at least --session-buffer"));
        assertTrue(assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse("--session-buffer", "100"))
                .getMessage().contains("--session-buffer must be within 1024"));
        assertTrue(assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse("--retain-exited", "-1"))
                .getMessage().contains("takes seconds"));
    }

    @Test
    void frameTimeoutIsSecondsAndZeroMeansNever() throws Exception {
        assertEquals(2000, AgentOptions.parse("--frame-timeout", "2").frameTimeoutMillis());
        assertEquals(0, AgentOptions.parse("--frame-timeout", "0").frameTimeoutMillis(), "0: never");
        assertTrue(assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse("--frame-timeout", "1.5"))
                .getMessage().contains("takes seconds"));
    }

    @Test
    void theHostLossPolicyIsTheTransportsUnlessGiven() throws Exception {
        AgentOptions none = AgentOptions.parse("--listen", "unix:/tmp/s");
        assertNull(none.hostLossPolicy());
        assertEquals(HostLossPolicy.KILL_SESSIONS, none.hostLossPolicyOr(HostLossPolicy.SOCKET_DEFAULT));
        assertEquals(HostLossPolicy.KEEP_SESSIONS, AgentOptions.parse().hostLossPolicyOr(HostLossPolicy.PORT_DEFAULT));
        assertEquals(HostLossPolicy.KEEP_SESSIONS, AgentOptions.parse("--listen", "unix:/tmp/s", "--on-host-loss",
                "keep").hostLossPolicyOr(HostLossPolicy.SOCKET_DEFAULT));
        assertEquals(HostLossPolicy.KILL_SESSIONS,
                AgentOptions.parse("--on-host-loss=KILL").hostLossPolicyOr(HostLossPolicy.PORT_DEFAULT));
        assertUsage("--on-host-loss is kill or keep, not 'maybe'", "--on-host-loss", "maybe");
    }

    @Test
    void stateDirIsAnyNonEmptyPath() throws Exception {
        assertEquals(Path.of("/tmp/st"), AgentOptions.parse("--state-dir", "/tmp/st").stateDir());
        assertEquals(Path.of("rel"), AgentOptions.parse("--state-dir=rel").stateDir());
        // "/." and ".." taken out: the state directory's own name is what is checked for a link.
        assertEquals(Path.of("/tmp/st"), AgentOptions.parse("--state-dir", "/tmp/st/.").stateDir());
        assertEquals(Path.of("/run/b"), AgentOptions.parse("--state-dir", "/run/a/../b").stateDir());
        assertEquals(Path.of("."), AgentOptions.parse("--state-dir", "./").stateDir());
        assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse("--state-dir="));
    }

    @Test
    void cgroupRootIsFoundUnlessGivenOrNone() throws Exception {
        assertNull(AgentOptions.parse().cgroupRoot());
        assertEquals("none", AgentOptions.parse("--cgroup-root", "none").cgroupRoot());
        assertEquals("/sys/fs/cgroup/x", AgentOptions.parse("--cgroup-root=/sys/fs/cgroup/x").cgroupRoot());
        assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse("--cgroup-root="));
    }

    @Test
    void theAgentsOomScoreAdjIsMinus999UnlessGivenOrKept() throws Exception {
        assertEquals(-999, AgentOptions.parse().oomScoreAdj());
        assertEquals(-1000, AgentOptions.parse("--oom-score-adj", "-1000").oomScoreAdj());
        assertEquals(1000, AgentOptions.parse("--oom-score-adj=1000").oomScoreAdj());
        assertNull(AgentOptions.parse("--oom-score-adj", "keep").oomScoreAdj());
        assertUsage("--oom-score-adj takes -1000 to 1000 or keep, not '-1001'", "--oom-score-adj", "-1001");
        assertUsage("--oom-score-adj takes -1000 to 1000 or keep, not 'off'", "--oom-score-adj", "off");
    }

    @Test
    void theSessionsMemoryIsLimitedByDefaultUnlessGivenOrNone() throws Exception {
        assertEquals(SessionsMemoryMax.AUTO, AgentOptions.parse().sessionsMemoryMax());
        assertEquals(new SessionsMemoryMax(300L << 20, 0, true),
                AgentOptions.parse("--sessions-memory-max", "300m").sessionsMemoryMax());
        assertEquals(new SessionsMemoryMax(0, 80, true), AgentOptions.parse("--sessions-memory-max=80%").sessionsMemoryMax());
        assertEquals(SessionsMemoryMax.NONE, AgentOptions.parse("--sessions-memory-max", "none").sessionsMemoryMax());
        for (String bad : new String[] {"0", "max", "150%", "auto"}) {
            assertUsage("--sessions-memory-max takes a byte count > 0 (e.g. 268435456, 256m, 1g), a share of the"
                    + " memory (1% to 100%) or none, not '" + bad + "'", "--sessions-memory-max", bad);
        }
    }

    @Test
    void localVsockPeersAreRefusedUnlessAskedForAndTheOptionGoesWithAVsockPort() throws Exception {
        assertFalse(AgentOptions.parse("--listen", "vsock:1024").serveLocalVsock());
        assertTrue(AgentOptions.parse("--listen", "vsock:1024", "--vsock-local", "serve").serveLocalVsock());
        assertFalse(AgentOptions.parse("--listen", "vsock:1024", "--vsock-local=refuse").serveLocalVsock());
        assertUsage("--vsock-local is refuse or serve, not 'yes'", "--listen", "vsock:1024", "--vsock-local", "yes");
        assertUsage("--vsock-local goes with --listen vsock:PORT", "--listen", "unix:/run/a.sock", "--vsock-local", "serve");
    }

    @Test
    void everyOptionInBothSpellings() throws Exception {
        AgentOptions o = AgentOptions.parse("--listen", "unix:/run/a.sock", "--user=nobody", "--cwd", "/tmp",
                "--env", "A=1", "--env=B=2=3", "--profile", "restricted", "--drain-ms", "10", "--grace-ms=0",
                "--high-water", "64k", "--stdin-limit", "2MiB", "--stall-warn-ms=0", "--log-file", "/var/log/agentd.log",
                "--log-level", "DEBUG");
        assertEquals(List.of(new ListenAddress.Unix(Path.of("/run/a.sock"))), o.listen());
        assertFalse(o.servesPort(), "sockets only");
        assertEquals("nobody", o.sessionDefaults().user());
        assertEquals("/tmp", o.sessionDefaults().cwd());
        assertEquals(List.of("A=1", "B=2=3"), o.sessionDefaults().env());
        assertEquals(Profile.RESTRICTED, o.sessionDefaults().profile());
        assertEquals(10, o.sessionDefaults().drainMillis());
        assertEquals(0, o.sessionDefaults().graceMillis());
        assertEquals(64 * 1024, o.highWater());
        assertEquals(0, o.stallWarnMillis());
        assertEquals(2 * 1024 * 1024, o.sessionDefaults().stdinLimit());
        assertEquals(Path.of("/var/log/agentd.log"), o.logFile());
        assertEquals("debug", o.logLevel());
        assertEquals(Path.of("/dev/hvc1"), AgentOptions.parse("--port", "/dev/hvc1").port());
        assertEquals("org.qemu.agent", AgentOptions.parse("--port-name", "org.qemu.agent").portName());
        assertTrue(AgentOptions.parse("-h").help());
    }

    @Test
    void badCommandLinesSayWhy() {
        assertUsage("unknown option --bogus", "--bogus");
        assertUsage("--drain-ms needs a value", "--drain-ms");
        assertUsage("--drain-ms takes milliseconds", "--drain-ms", "-5");
        assertUsage("--grace-ms takes milliseconds", "--grace-ms", "soon");
        assertUsage("--high-water takes a byte count", "--high-water", "0");
        assertUsage("--stdin-limit takes a byte count", "--stdin-limit", "12q");
        assertUsage("--stall-warn-ms takes milliseconds", "--stall-warn-ms", "5s");
        assertUsage("--listen takes unix:PATH", "--listen", "/run/a.sock");
        assertUsage("--profile is default, restricted or strict", "--profile", "paranoid");
        assertUsage("--log-level is one of", "--log-level", "loud");
        assertUsage("--cwd must be an absolute path", "--cwd", "tmp");
        assertUsage("--env takes K=V", "--env", "NOVALUE");
        assertUsage("--listen takes unix:PATH or vsock:PORT", "--listen", "vsock:4294967295");
        assertUsage("--listen takes unix:PATH or vsock:PORT", "--listen", "vsock:-1");
        assertUsage("--listen unix:/a is given twice", "--listen", "unix:/a", "--listen", "unix:/a");
        // one socket spelled two ways: before, the second's start found it locked by "another agent"
        assertUsage("--listen unix:/d/./a is given twice", "--listen", "unix:/d/a", "--listen", "unix:/d/./a");
        assertUsage("--listen unix:/ names a directory, no socket file", "--listen", "unix:/");
        assertUsage("--port-name names a virtio port", "--port-name", "x", "--port", "/dev/hvc1");
        assertUsage("--max-connections takes an integer > 0", "--max-connections", "0");
        assertUsage("go with --listen unix:PATH", "--listen", "vsock:5000", "--allow-uid", "1000");
        assertUsage("unexpected argument 'stray'", "stray");
    }

    @Test
    void aSingleValueOptionGivenTwiceIsRefusedNamingBothValues() throws Exception {
        assertUsage("--port is given twice ('/dev/vport0p1' and '/dev/vport0p2'); it takes one value",
                "--port", "/dev/vport0p1", "--port=/dev/vport0p2");
        assertUsage("--log-level is given twice ('debug' and 'debug')", "--log-level", "debug", "--log-level", "debug");
        assertUsage("--state-dir is given twice", "--state-dir=/a", "--listen", "vsock:5", "--state-dir", "/b");
        // the repeatable ones still add up
        AgentOptions o = AgentOptions.parse("--listen", "unix:/a", "--listen", "vsock:5", "--env", "A=1", "--env", "A=2",
                "--allow-uid", "7", "--allow-uid", "8");
        assertEquals(2, o.listen().size());
        assertEquals(List.of("A=1", "A=2"), o.sessionDefaults().env());
        assertEquals(List.of(7, 8), o.socketAccess().allowUids());
    }

    @Test
    void theSocketIsPrivateUnlessToldOtherwiseAndStrictIsAProfile() throws Exception {
        AgentOptions plain = AgentOptions.parse("--listen", "unix:/run/a.sock");
        assertEquals(0600, plain.socketAccess().mode());
        assertEquals(List.of(), plain.socketAccess().allowUids());
        AgentOptions shared = AgentOptions.parse("--listen", "unix:/run/a.sock", "--socket-group", "agents",
                "--allow-uid", "1000", "--allow-uid=1001", "--profile", "strict");
        assertEquals(0660, shared.socketAccess().mode(), "a shared group can connect");
        assertEquals("agents", shared.socketAccess().group());
        assertEquals(List.of(1000, 1001), shared.socketAccess().allowUids());
        assertEquals(Profile.STRICT, shared.sessionDefaults().profile());
        assertEquals(0640, AgentOptions.parse("--listen", "unix:/a", "--socket-mode", "640").socketAccess().mode());
        assertUsage("--socket-mode takes an octal mode up to 0777", "--listen", "unix:/a", "--socket-mode", "4777");
        assertUsage("--socket-mode takes an octal mode", "--listen", "unix:/a", "--socket-mode", "rw");
        assertUsage("--allow-uid takes a numeric uid", "--listen", "unix:/a", "--allow-uid", "bob");
        assertUsage("go with --listen", "--allow-uid", "1000");
    }

    private static void assertUsage(String expected, String... args) {
        AgentOptions.UsageException e = assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse(args));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void theStdinWindowIsOneMibAtMostTheSessionLimitAndNeverAbove() throws Exception {
        assertEquals(1 << 20, AgentOptions.parse().sessionDefaults().stdinWindow());
        assertEquals(256 << 10, AgentOptions.parse("--stdin-limit", "256k").sessionDefaults().stdinWindow());
        assertEquals(4 << 20, AgentOptions.parse("--stdin-window", "4m").sessionDefaults().stdinWindow());
        AgentOptions.UsageException e = assertThrows(AgentOptions.UsageException.class,
                () -> AgentOptions.parse("--stdin-limit", "1m", "--stdin-window", "2m"));
        assertTrue(e.getMessage().contains("--stdin-window"), e.getMessage());
    }
}
