package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The agent's decoder ({@link FrameDecoder#forAgent}) refuses a type only the agent sends as
 * unsupported_message_type whatever its flags and payload; a client's decoder still decodes it.
 */
class AgentSideDecoderTest {
    private static final long ID = 3;
    private static final byte[] EMPTY_MAP = new RawCbor().map(0).build();

    private static ProtocolException refusedByAgent(byte[] frame) {
        FrameDecoder agent = FrameDecoder.forAgent();
        agent.feed(frame, 0, frame.length);
        ProtocolException e = assertThrows(ProtocolException.class, agent::next);
        assertNull(assertDoesNotThrowNext(agent), "one result per frame");
        return e;
    }

    private static Frame assertDoesNotThrowNext(FrameDecoder d) {
        try {
            return d.next();
        } catch (ProtocolException e) {
            throw new AssertionError("a second result", e);
        }
    }

    private static void assertUnsupported(byte[] frame, MessageType type) {
        ProtocolException e = refusedByAgent(frame);
        assertEquals(ErrorKind.UNSUPPORTED_MESSAGE_TYPE, e.kind(), e.getMessage());
        assertEquals(ID, e.id());
        assertEquals(type.wire(), e.type());
        assertTrue(e.getMessage().contains("sent by the agent"), e.getMessage());
    }

    private static byte[] withFlags(MessageType type, int flags, byte[] p) {
        return RawCbor.frame(ID, flags, RawCbor.envelope(Protocol.GENERATION, type.wire(), p));
    }

    @Test
    void anAgentOnlyTypeIsUnsupportedWhateverItsFlagsAndPayload() {
        assertUnsupported(withFlags(MessageType.CORE_PONG, 0, EMPTY_MAP), MessageType.CORE_PONG);
        assertUnsupported(withFlags(MessageType.CORE_PONG, Flags.TERMINAL, EMPTY_MAP), MessageType.CORE_PONG);
        assertUnsupported(withFlags(MessageType.EXEC_EXITED, Flags.TERMINAL, EMPTY_MAP), MessageType.EXEC_EXITED);
        assertUnsupported(withFlags(MessageType.EXEC_STDOUT, 0, EMPTY_MAP), MessageType.EXEC_STDOUT);
        assertUnsupported(withFlags(MessageType.CORE_ERROR, 0, new byte[] {(byte) 0xff}), MessageType.CORE_ERROR);
    }

    @Test
    void wellFormedAgentFramesAreRefusedToo() {
        FrameEncoder enc = new FrameEncoder();
        assertUnsupported(enc.encode(new Frame(ID, MessageType.EXEC_EXITED, ExecExited.normal(0))), MessageType.EXEC_EXITED);
        // A small stdout frame takes the canonical fast path; a large one is streamed into its own array.
        assertUnsupported(enc.encode(new Frame(ID, MessageType.EXEC_STDOUT, new ExecData(new byte[] {1, 2}))),
                MessageType.EXEC_STDOUT);
        byte[] big = new byte[64 * 1024];
        Arrays.fill(big, (byte) 'x');
        assertUnsupported(enc.encode(new Frame(ID, MessageType.EXEC_STDERR, new ExecData(big))),
                MessageType.EXEC_STDERR);
    }

    @Test
    void theHostsTypesKeepTheirCheckedRefusals() {
        ProtocolException flags = refusedByAgent(withFlags(MessageType.CORE_PING, Flags.TERMINAL, EMPTY_MAP));
        assertEquals(ErrorKind.INVALID_FLAGS, flags.kind());
        ProtocolException payload = refusedByAgent(withFlags(MessageType.EXEC_SIGNAL, 0, EMPTY_MAP));
        assertEquals(ErrorKind.INVALID_PAYLOAD, payload.kind());
    }

    @Test
    void theAgentTakesTheHostsTypesAndAClientTakesTheAgents() throws ProtocolException {
        FrameEncoder enc = new FrameEncoder();
        byte[] ping = enc.encode(new Frame(ID, MessageType.CORE_PING, Empty.INSTANCE));
        FrameDecoder agent = FrameDecoder.forAgent();
        agent.feed(ping, 0, ping.length);
        assertEquals(MessageType.CORE_PING, agent.next().type());
        byte[] fsData = enc.encode(new Frame(ID, MessageType.FS_DATA, new ExecData(new byte[] {7})));
        agent.feed(fsData, 0, fsData.length);
        assertEquals(MessageType.FS_DATA, agent.next().type());

        byte[] exited = enc.encode(new Frame(ID, MessageType.EXEC_EXITED, ExecExited.normal(4)));
        FrameDecoder client = new FrameDecoder();
        client.feed(exited, 0, exited.length);
        assertEquals(ExecExited.normal(4), client.next().payload());
    }
}
