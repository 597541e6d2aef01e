package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Stdin queued for children that do not read is bounded per session and over all sessions, so many
 * sessions cannot make the agent's memory grow without bound. Agent: 1 MiB per session, 2 MiB total.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StdinBoundsE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("stdin-bounds", "--stdin-limit", "1m", "--stdin-total", "2m");

    @Test
    void stdinOverTheTotalBoundIsRefusedWithEnobufsAndTheSessionGoesOn(HostConnection host) throws Exception {
        byte[] almostMib = new byte[(1 << 20) - 1024];
        for (long id = 1; id <= 3; id++) {
            host.exec(id, ExecRequest.of("sleep", "60"));
            host.expect(id, MessageType.EXEC_STARTED);
            host.stdin(id, almostMib);
        }
        // Sessions 1 and 2 fill the total (the pipe takes at most 64 KiB of each); 3 is refused.
        for (long id = 1; id <= 3; id++) {
            host.send(new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        }
        SessionResult third = host.collect(3, HostConnection.TIMEOUT);
        assertEquals(137, third.code(), "the refused session still runs until killed");
        assertTrue(third.stdinErrors().stream().anyMatch(e -> "ENOBUFS".equals(e.errnoName())
                        && e.message().contains("all sessions")),
                "session 3 is told the agent's stdin queues are full: " + third.stdinErrors());
        for (long id = 1; id <= 2; id++) {
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertTrue(r.stdinErrors().stream().noneMatch(e -> "ENOBUFS".equals(e.errnoName())),
                    "session " + id + " was within both bounds: " + r.stdinErrors());
        }
    }

    @Test
    void stdinOverTheSessionBoundIsRefusedWithEnobufs(HostConnection host) throws Exception {
        host.exec(10, ExecRequest.of("sleep", "60"));
        host.expect(10, MessageType.EXEC_STARTED);
        host.stdin(10, new byte[1 << 20]);
        host.stdin(10, new byte[(1 << 20) + (256 << 10)]);
        host.send(new Frame(10, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        SessionResult r = host.collect(10, HostConnection.TIMEOUT);
        assertTrue(r.stdinErrors().stream().anyMatch(e -> "ENOBUFS".equals(e.errnoName())
                        && e.message().contains("stdin queue full")),
                "the session's own bound refuses the second frame: " + r.stdinErrors());
    }
}
