package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11: memory bounded against floods of host input, shown with a small heap. After each flood
 * the same agent process answers core.ping.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FloodsE2ETest {
    static final String SMALL_HEAP = "-Xmx48m";

    /**
     * Case 1: 2,000,000 one-character args (a 4 MB frame) are refused by the codec's request limits
     * before anything is copied. Needs the protocol branch's limits: skipped until they are merged.
     */
    @Test
    void twoMillionArgsAreRefusedAsBadArgs() throws Exception {
        assumeTrue(codecChecksRequestLimits(), "the codec on this branch has no request limits yet");
        byte[] frame = new FrameEncoder().encode(new Frame(1, MessageType.EXEC_REQUEST,
                request("true", Collections.nCopies(2_000_000, "a"))));
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("args-flood", SMALL_HEAP);
                HostConnection host = agent.connectReady()) {
            host.sendRaw(frame);
            ExecFailed failed = (ExecFailed) host.expect(1, MessageType.EXEC_FAILED).payload();
            assertEquals("bad_args", failed.kind(), failed.toString());
            assertAnswersPing(agent, host, 2);
        }
    }

    /**
     * Case 5 with a small heap: a cmd of 4,194,104 bytes, and one as long with an unknown rlimit
     * (whose failure quotes both), are answered exec.failed on their ids.
     */
    @Test
    void fourMegabyteCmdsAreAnsweredFailed() throws Exception {
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("cmd-flood", SMALL_HEAP);
                HostConnection host = agent.connectReady()) {
            for (long id = 1; id <= 4; id++) {
                host.exec(id, id % 2 == 1 ? ExecRequest.of("x".repeat(4_194_104))
                        : UnanswerableInputE2ETest.largestRequestWithAnUnknownRlimit());
                host.expect(id, MessageType.EXEC_FAILED);
            }
            assertAnswersPing(agent, host, 9);
        }
    }

    /**
     * Frames of the largest size the decoder accepts: garbage bodies (malformed) and stdin data for
     * sessions that do not exist (invalid_session). Each is buffered whole before it is refused.
     */
    @Test
    void aStreamOfMaximumSizeGarbageFramesIsRefusedFrameByFrame() throws Exception {
        Random random = new Random(11);
        byte[] garbage = new byte[Protocol.LENGTH_BYTES + Protocol.MAX_FRAME_LEN];
        byte[] stdin = new FrameEncoder().encode(new Frame(77, MessageType.EXEC_STDIN,
                new ExecData(new byte[FrameEncoder.maxDataChunk()])));
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("garbage-flood", SMALL_HEAP);
                HostConnection host = agent.connectReady()) {
            for (int i = 0; i < 30; i++) {
                if (i % 3 == 2) {
                    host.sendRaw(stdin);
                    continue;
                }
                random.nextBytes(garbage);
                ByteBuffer.wrap(garbage).putInt(0, Protocol.MAX_FRAME_LEN).putInt(4, 100 + i);
                garbage[8] = 0; // flags
                garbage[9] = (byte) 0xff; // no CBOR map starts with a break
                host.sendRaw(garbage);
            }
            for (int i = 0; i < 30; i++) {
                if (i % 3 != 2) {
                    host.expect(100 + i, MessageType.CORE_ERROR);
                }
            }
            for (int i = 0; i < 10; i++) {
                host.expectError(77, "invalid_session");
            }
            assertAnswersPing(agent, host, 1);
        }
    }

    static void assertAnswersPing(AgentProcess agent, HostConnection host, long id) throws Exception {
        long pid = agent.pid();
        host.send(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
        host.expect(id, MessageType.CORE_PONG);
        assertTrue(agent.isAlive() && agent.pid() == pid, "the agent did not survive:\n" + agent.logText());
    }

    private static ExecRequest request(String cmd, List<String> args) {
        return new ExecRequest(cmd, args, List.of(), null, null, false, 24, 80, List.of(), null);
    }

    /** Whether this build's decoder refuses a request over a limit (one arg more than 32768). */
    static boolean codecChecksRequestLimits() {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(ByteBuffer.wrap(new FrameEncoder().encode(new Frame(1, MessageType.EXEC_REQUEST,
                request("true", Collections.nCopies(32_769, "a"))))));
        try {
            decoder.next();
            return false;
        } catch (ProtocolException e) {
            return e.kind() == ErrorKind.LIMIT_EXCEEDED;
        }
    }
}
