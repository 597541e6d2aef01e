package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class AgentOptionsTest {

    @Test
    void defaultsServeTheVirtioPortNamedAgent() throws Exception {
        AgentOptions o = AgentOptions.parse();
        assertEquals("agent", o.portName());
        assertNull(o.port());
        assertNull(o.listen());
        assertFalse(o.sessionDefaults().restricted());
        assertEquals(250, o.sessionDefaults().drainMillis());
        assertEquals(2000, o.sessionDefaults().graceMillis());
        assertEquals(1 << 20, o.highWater());
        assertEquals(5000, o.stallWarnMillis());
        assertEquals(16 << 20, o.sessionDefaults().stdinLimit());
        assertEquals("info", o.logLevel());
        assertEquals(List.of(), o.sessionDefaults().env());
        assertEquals(Path.of("/run/agentd"), o.stateDir());
        assertFalse(o.help());
    }

    @Test
    void stateDirIsAnyNonEmptyPath() throws Exception {
        assertEquals(Path.of("/tmp/st"), AgentOptions.parse("--state-dir", "/tmp/st").stateDir());
        assertEquals(Path.of("rel"), AgentOptions.parse("--state-dir=rel").stateDir());
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
    void everyOptionInBothSpellings() throws Exception {
        AgentOptions o = AgentOptions.parse("--listen", "unix:/run/a.sock", "--user=nobody", "--cwd", "/tmp",
                "--env", "A=1", "--env=B=2=3", "--profile", "restricted", "--drain-ms", "10", "--grace-ms=0",
                "--high-water", "64k", "--stdin-limit", "2MiB", "--stall-warn-ms=0", "--log-file", "/var/log/agentd.log",
                "--log-level", "DEBUG");
        assertEquals(Path.of("/run/a.sock"), o.listen());
        assertEquals("nobody", o.sessionDefaults().user());
        assertEquals("/tmp", o.sessionDefaults().cwd());
        assertEquals(List.of("A=1", "B=2=3"), o.sessionDefaults().env());
        assertTrue(o.sessionDefaults().restricted());
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
        assertUsage("--profile is default or restricted", "--profile", "paranoid");
        assertUsage("--log-level is one of", "--log-level", "loud");
        assertUsage("--cwd must be an absolute path", "--cwd", "tmp");
        assertUsage("--env takes K=V", "--env", "NOVALUE");
        assertUsage("--port and --listen exclude each other", "--port", "/dev/hvc1", "--listen", "unix:/a");
        assertUsage("--port-name names a virtio port", "--port-name", "x", "--listen", "unix:/a");
        assertUsage("unexpected argument 'stray'", "stray");
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
