package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.agent.transport.HostLossPolicy;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The start-up line names each transport's host-loss policy and the settings a host meets. */
class ServingLineTest {

    @Test
    void aPortAndASocketEachWithItsPolicyAndTheSocketsSettings() throws Exception {
        AgentOptions options = AgentOptions.parse("--port", "/dev/hvc1", "--listen", "unix:/run/a.sock",
                "--frame-timeout", "0", "--stdin-limit", "1k", "--session-buffer", "4k", "--profile", "strict");
        String line = ServingLine.of("1.0", List.of(
                new ServingLine.Served("/dev/hvc1", HostLossPolicy.KEEP_SESSIONS, false),
                new ServingLine.Served("unix:/run/a.sock", HostLossPolicy.KILL_SESSIONS, true)), options,
                "oom_score_adj -999 (sessions 0)", "sessions' memory.max 286 MiB");
        assertEquals("agentd 1.0 serving /dev/hvc1 (host loss: keep) and unix:/run/a.sock (host loss: kill);"
                + " profile strict, drain 250 ms, grace 2000 ms, high-water 1048576 bytes, stdin 1024 bytes a session,"
                + " session buffer 4096 bytes, frame timeout off, at most 64 socket connections,"
                + " oom_score_adj -999 (sessions 0), sessions' memory.max 286 MiB", line);
    }

    @Test
    void aPortAloneSaysNothingOfSockets() throws Exception {
        AgentOptions options = AgentOptions.parse("--port", "/dev/hvc1");
        String line = ServingLine.of("1.0", List.of(
                new ServingLine.Served("/dev/hvc1", HostLossPolicy.KEEP_SESSIONS, false)), options,
                "oom_score_adj 0 (not set to -999: EACCES: lowering it needs CAP_SYS_RESOURCE)",
                "sessions' memory not limited (no session cgroups)");
        assertEquals("agentd 1.0 serving /dev/hvc1 (host loss: keep); profile default, drain 250 ms, grace 2000 ms,"
                + " high-water 1048576 bytes, stdin 16777216 bytes a session, session buffer 1048576 bytes,"
                + " oom_score_adj 0 (not set to -999: EACCES: lowering it needs CAP_SYS_RESOURCE),"
                + " sessions' memory not limited (no session cgroups)", line);
    }
}
