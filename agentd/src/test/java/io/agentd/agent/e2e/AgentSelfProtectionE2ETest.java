package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a session cannot do to the agent, and what the host's text cannot do to its log (issue 14):
 * the agent is non-dumpable, so a session of its own uid cannot read its memory or environment;
 * a request may tighten the agent's profile, never loosen it; a cwd or an env key holding a newline
 * gives one escaped line, not a forged one. Needs root.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AgentSelfProtectionE2ETest {
    private static final String FORGED = "2026-01-01T00:00:00.000Z INFO  Session: session 99 exited: code=0 FORGED";

    @Test
    void aSessionOfTheAgentsOwnUidCannotReadItsEnvironmentOrMemory() throws Exception {
        Path dir = LaunchedAgent.newDir("nondumpable");
        Files.setAttribute(dir, "unix:uid", 65534);
        Files.setAttribute(dir, "unix:gid", 65534);
        try (LaunchedAgent agent = LaunchedAgent.launch(dir, "setpriv --reuid 65534 --regid 65534 --clear-groups",
                dir.resolve("agent.sock"), "077")) {
            agent.awaitSocket();
            long pid = agent.process().pid();
            try (HostConnection host = HostConnection.open(agent.socket())) {
                host.expect(0, MessageType.CORE_READY);
                SessionResult r = host.run(1, ExecRequest.of("sh", "-c", "id -u; cat /proc/" + pid
                        + "/environ >/dev/null && echo environ-read; head -c1 /proc/" + pid
                        + "/mem >/dev/null 2>&1 && echo mem-read; true"));
                assertEquals("65534\n", r.out(), "same uid as the agent, and nothing of it read: " + r.err());
                assertTrue(r.err().contains("Permission denied"), r.err());
            }
        }
    }

    @Test
    void aRequestMayTightenTheAgentsProfileButNotLoosenIt() throws Exception {
        try (AgentProcess agent = AgentProcess.start("profiles", "--profile", "restricted");
                HostConnection host = agent.connectReady()) {
            String caps = "grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status";
            SessionResult strict = host.run(1, ExecRequest.of("sh", "-c", caps).withProfile("strict"));
            assertEquals(0, strict.code(), strict.err());
            assertTrue(strict.out().matches("(?s).*CapEff:\\s+0{16}\n.*CapBnd:\\s+0{16}\n.*")
                    && strict.out().contains("NoNewPrivs:\t1"), strict.out());

            SessionResult same = host.run(2, ExecRequest.of("sh", "-c", caps).withProfile("restricted"));
            assertEquals(0, same.code(), same.err());
            assertTrue(!same.out().contains("CapBnd:\t0000000000000000"), "restricted keeps other caps: " + same.out());

            SessionResult looser = host.run(3, ExecRequest.of("true").withProfile("default"));
            assertNull(looser.exited());
            assertEquals("permission_denied", looser.failed().kind(), looser.failed().toString());
            assertEquals(-1, looser.pid(), "nothing was started");

            SessionResult unknown = host.run(4, ExecRequest.of("true").withProfile("root\nplease"));
            assertEquals("bad_args", unknown.failed().kind(), unknown.failed().toString());
            assertTrue(unknown.failed().message().contains("\"root\\nplease\""), unknown.failed().message());
        }
    }

    /**
     * A session of the strict or restricted profile that connects to the agent's own socket is
     * refused: still uid 0, it was served, and the agent ran what it asked with every right its
     * profile had taken away (a strict session's command back through the socket had all
     * capabilities; its fs requests read files its own rights could not). A default session, which
     * has the agent's rights already, is served as before.
     */
    @Test
    void aConfinedSessionCannotHaveTheAgentActForItThroughItsSocket() throws Exception {
        try (AgentProcess agent = AgentProcess.start("confined-peer"); HostConnection host = agent.connectReady()) {
            String perl = "use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])"
                    + " or do { print \"denied\"; exit 0 }; my $n = sysread($s, my $buf, 4096); "
                    + "print $n ? \"greeted\" : \"closed\";";
            ExecRequest connect = ExecRequest.of("perl", "-e", perl, agent.dir().resolve("agent.sock").toString());
            SessionResult strict = host.run(1, connect.withProfile("strict"));
            assertEquals("closed", strict.out(), strict.err());
            SessionResult restricted = host.run(2, connect.withProfile("restricted"));
            assertEquals("closed", restricted.out(), restricted.err());
            SessionResult plain = host.run(3, connect);
            assertEquals("greeted", plain.out(), plain.err());
            String log = agent.awaitLog("runs under no_new_privs");
            assertTrue(log.contains("refused a connection from uid 0 (pid "), log);
        }
    }

    @Test
    void aCwdOrAnEnvKeyHoldingANewlineGivesOneEscapedLine() throws Exception {
        Path cwd = Files.createDirectories(LaunchedAgent.newDir("forged").resolve("d\n" + FORGED));
        try (AgentProcess agent = AgentProcess.start("forged-line"); HostConnection host = agent.connectReady()) {
            List<String> env = List.of("K\n2026-01-01T00:00:00.000Z WARN  forged by a key=v");
            ExecRequest request = new ExecRequest("true", List.of(), env, cwd.toString(), null, false, 24, 80,
                    List.of(), null);
            assertEquals(0, host.run(1, request).code());
            host.close();
            String log = agent.logText();
            assertTrue(log.lines().noneMatch(l -> l.startsWith(FORGED) || l.startsWith("2026-01-01")), log);
            assertTrue(log.lines().anyMatch(l -> l.contains("session 1 started") && l.contains("d\\n" + FORGED)
                    && l.contains("\"K\\n2026-01-01T00:00:00.000Z WARN  forged by a key\"")), log);
            assertNotEquals(-1, log.indexOf("session 1 exited"), log);
        }
    }
}
