package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.Ready;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A request the agent does not offer (a feature its core.ready does not list, refused by the
 * client) or refuses (core.error) exits 126 with the reason, not 125: there was an agent to talk
 * to. agentctl runs in-process against a scripted agent.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RefusedRequestExitTest {

    private static Path sub(Path dir, String name) throws Exception {
        return java.nio.file.Files.createDirectory(dir.resolve(name));
    }

    @Test
    void aProfileTheAgentDoesNotTakeExits126(@TempDir Path dir) throws Exception {
        ScriptedAgentctl.Run exec = ScriptedAgentctl.run(sub(dir, "a"), List.of(), null,
                "exec", "--profile", "strict", "--", "true");
        assertEquals(126, exec.code(), exec.toString());
        assertTrue(exec.err().startsWith("agentctl: the agent does not take a per-request profile"), exec.err());

        ScriptedAgentctl.Run detached = ScriptedAgentctl.run(sub(dir, "b"),
                List.of(Ready.FEATURE_SESSIONS), null, "exec", "--detach", "--profile", "strict", "--", "true");
        assertEquals(126, detached.code(), detached.toString());
        assertTrue(detached.err().startsWith("agentctl: the agent does not take a per-request profile"),
                detached.err());
    }

    @Test
    void sessionsFromAnAgentThatKeepsNoneExit126(@TempDir Path dir) throws Exception {
        int n = 0;
        for (List<String> args : List.of(List.of("ps"), List.of("attach", "5"),
                List.of("exec", "--detach", "--", "true"))) {
            Path d = sub(dir, "d" + n++);
            ScriptedAgentctl.Run r = ScriptedAgentctl.run(d, List.of(), null, args.toArray(String[]::new));
            assertEquals(126, r.code(), args + ": " + r);
            assertTrue(r.err().contains("the agent does not keep sessions"), args + ": " + r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }

    @Test
    void psRefusedByTheAgentExits126(@TempDir Path dir) throws Exception {
        ScriptedAgentctl.Run r = ScriptedAgentctl.run(dir, List.of(Ready.FEATURE_SESSIONS), agent -> {
            Frame list = agent.receive();
            assertEquals(MessageType.SESSION_LIST, list.type());
            agent.send(new Frame(list.id(), MessageType.CORE_ERROR,
                    new ErrorPayload("unsupported_message_type", "not here", MessageType.SESSION_LIST.wire())));
        }, "ps");
        assertEquals(126, r.code(), r.toString());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("agentctl: ps: agent refused " + MessageType.SESSION_LIST.wire() + ": unsupported_message_type: not here"),
                r.err());
    }
}
