package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.agentd.protocol.payload.Payload;
import java.util.Arrays;

/**
 * Coverage-guided fuzz target (Jazzer) for every payload decoder. Every run of the tests replays the
 * checked-in corpus (PayloadDecodingFuzzTestInputs); scripts/fuzz fuzzes it for real (JAZZER_FUZZ=1).
 *
 * <p>Input layout: the first byte chooses the message type (its index modulo the number of types),
 * the rest is the payload's CBOR, the bytes of p.
 */
class PayloadDecodingFuzzTest {
    private static final MessageType[] TYPES = MessageType.values();
    private static final FrameEncoder ENCODER = new FrameEncoder();

    /**
     * Any bytes as any type's payload: a payload record or a ProtocolException (anything else thrown
     * fails the target), and a payload that decodes survives encoding and decoding unchanged.
     */
    @FuzzTest(maxDuration = "60s")
    void anyBytesAsEveryPayload(byte[] input) throws ProtocolException {
        if (input.length == 0) {
            return;
        }
        MessageType type = TYPES[(input[0] & 0xff) % TYPES.length];
        byte[] p = Arrays.copyOfRange(input, 1, input.length);
        Payload payload;
        try {
            payload = PayloadDecoding.decode(type, 1, p);
        } catch (ProtocolException refused) {
            RefusalChecks.check(refused);
            return;
        }
        Frame frame = new Frame(1, type, payload);
        byte[] bytes = ENCODER.encode(frame);
        assertEquals(frame, FrameDecoder.decodeFrame(bytes, Protocol.LENGTH_BYTES, bytes.length - Protocol.LENGTH_BYTES));
    }
}
