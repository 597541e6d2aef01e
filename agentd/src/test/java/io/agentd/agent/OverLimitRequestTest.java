package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The agent's answer to a request the codec refused for a request limit (ErrorKind.LIMIT_EXCEEDED),
 * with the codec's refusal handed to the agent directly: the codec that raises it is tested in the
 * protocol module. The agent's frames go to a pipe and are decoded here.
 */
class OverLimitRequestTest {
    private static final String LIMIT = "args has more than 32768 entries";

    @Test
    void anOverLimitExecRequestEndsItsIdWithBadArgsAndAnythingElseIsCoreError() throws Exception {
        List<Frame> frames = PipePortAgent.run(false, 500, (connection, sessions) -> {
            // The rest once the command has started (the spawn runs off the loop), as the refusals of
            // a host's next frames would wait for it.
            sessions.onExecRequest(connection.sessionHost(), 7, ExecRequest.of("sleep", "30"), () -> {
                connection.onProtocolError(limit(5, MessageType.EXEC_REQUEST.wire()));
                connection.onProtocolError(limit(7, MessageType.EXEC_REQUEST.wire())); // a running session's id
                connection.onProtocolError(limit(0, MessageType.EXEC_REQUEST.wire()));
                connection.onProtocolError(limit(6, MessageType.EXEC_STDIN.wire()));
                connection.onProtocolError(limit(ProtocolException.NO_ID, MessageType.EXEC_REQUEST.wire()));
                sessions.killOwned(connection.number(), id -> true);
            });
        });

        assertEquals(MessageType.CORE_READY, frames.get(0).type());
        // Session 7 is live: its started is out as soon as its request was taken.
        expect(frames.get(1), 7, MessageType.EXEC_STARTED);
        ExecFailed failed = (ExecFailed) expect(frames.get(2), 5, MessageType.EXEC_FAILED);
        assertEquals("bad_args", failed.kind());
        assertEquals(LIMIT, failed.message());
        for (int i = 3; i <= 6; i++) {
            long id = new long[] {7, 0, 6, 0}[i - 3];
            ErrorPayload e = (ErrorPayload) expect(frames.get(i), id, MessageType.CORE_ERROR);
            assertEquals("invalid_payload", e.kind(), e.toString());
            assertEquals(LIMIT, e.message());
        }
        assertEquals(7, frames.size(), frames.toString());
    }

    private static ProtocolException limit(long id, String type) {
        return new ProtocolException(ErrorKind.LIMIT_EXCEEDED, id, type, LIMIT);
    }

    private static Object expect(Frame frame, long id, MessageType type) {
        assertEquals(id, frame.id(), frame.toString());
        assertEquals(type, frame.type(), frame.toString());
        return frame.payload();
    }
}
