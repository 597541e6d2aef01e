package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.agent.sys.LibC;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStdinError;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A data frame the codec refused reaches what it belonged to, with the codec's refusal handed to the
 * connection directly: after a core.fs.request, the data the host sends is dropped quietly, as for
 * any refused Write, instead of one core.error per chunk on an id the host was already told is over;
 * after a core.exec.stdin, the session's later stdin is refused (stdin is a prefix).
 */
class RefusedDataFrameTest {
    @Test
    void theDataAfterAnFsRequestTheCodecRefusedIsDroppedQuietly() throws Exception {
        List<Frame> frames = PipePortAgent.run(true, 300, (connection, sessions) -> {
            connection.onProtocolError(new ProtocolException(ErrorKind.INVALID_PAYLOAD, 5,
                    MessageType.FS_REQUEST.wire(), "user: more than 512 bytes"));
            connection.onFrame(new Frame(5, MessageType.FS_DATA, new ExecData(new byte[10])));
            connection.onFrame(new Frame(5, MessageType.FS_DATA, new ExecData(new byte[0])));
        });
        assertEquals(List.of(MessageType.CORE_READY, MessageType.CORE_ERROR),
                frames.stream().map(Frame::type).toList(), frames.toString());
        assertEquals(5, frames.get(1).id());
    }

    @Test
    void afterAStdinFrameTheCodecRefusedTheSessionsLaterStdinIsRefused() throws Exception {
        List<Frame> frames = PipePortAgent.run(false, 300, (connection, sessions) -> {
            // The rest once the command has started (the spawn runs off the loop), as a host's next
            // frames would wait for it.
            sessions.onExecRequest(connection.sessionHost(), 7, ExecRequest.of("sleep", "30"), () -> {
                connection.onProtocolError(new ProtocolException(ErrorKind.INVALID_FLAGS, 7,
                        MessageType.EXEC_STDIN.wire(), "flags 2 on core.exec.stdin"));
                connection.onFrame(new Frame(7, MessageType.EXEC_STDIN, new ExecData("after".getBytes())));
                sessions.killOwned(connection.number(), id -> true);
            });
        });
        assertEquals(List.of(MessageType.CORE_READY, MessageType.EXEC_STARTED, MessageType.CORE_ERROR,
                MessageType.EXEC_STDIN_ERROR), frames.stream().map(Frame::type).toList(), frames.toString());
        assertEquals(LibC.EINVAL, ((ExecStdinError) frames.get(3).payload()).errno());
    }
}
