package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.agentd.protocol.payload.ExecData;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The data-frame shortcut of the decoder: it must take exactly the encoder's bytes, give the same
 * frame the general decoder gives, and hand every other layout back to the general decoder.
 */
class DataFrameLayoutTest {
    private static final List<MessageType> DATA_TYPES =
            List.of(MessageType.EXEC_STDIN, MessageType.EXEC_STDOUT, MessageType.EXEC_STDERR);
    private static final int[] LENGTHS = {0, 1, 23, 24, 255, 256, 65535, 65536, 70_000, 1 << 20};

    @Test
    void takesEveryEncodedDataFrameAndReturnsItsBytes() {
        FrameEncoder encoder = new FrameEncoder();
        for (MessageType type : DATA_TYPES) {
            for (int len : LENGTHS) {
                byte[] data = random(len);
                byte[] frame = encoder.encode(new Frame(77, type, new ExecData(data)));
                Frame fast = DataFrameLayout.decodeCanonical(frame, 4, frame.length - 4, 77, frame[8] & 0xff);
                assertNotNull(fast, type + " " + len);
                assertEquals(new Frame(77, type, new ExecData(data)), fast);
            }
        }
    }

    @Test
    void encodingFromADirectBufferWritesTheSameBytesAndLeavesTheSourceAlone() {
        FrameEncoder encoder = new FrameEncoder();
        for (int len : LENGTHS) {
            byte[] data = random(len);
            ByteBuffer source = ByteBuffer.allocateDirect(len + 10).position(10);
            source.put(data).position(10);
            ByteBuffer out = ByteBuffer.allocateDirect(FrameEncoder.maxDataFrameSize(len));
            int written = encoder.encodeDataInto(5, MessageType.EXEC_STDOUT, source, out);
            byte[] bytes = new byte[written];
            out.flip().get(bytes);
            assertArrayEquals(encoder.encode(new Frame(5, MessageType.EXEC_STDOUT, new ExecData(data))), bytes);
            assertEquals(10, source.position());
            assertEquals(len + 10, source.limit());
        }
    }

    @Test
    void otherLayoutsOfAValidDataFrameAreLeftToTheGeneralDecoderWhichTakesThem() throws ProtocolException {
        byte[] data = random(300);
        byte[] canonicalPayload = new RawCbor().map(1).text("data").bytes(data).build();
        List<byte[]> frames = List.of(
                // the data length in a longer head than needed
                RawCbor.frame(3, MessageType.EXEC_STDOUT,
                        new RawCbor().map(1).text("data").raw(0x5a, 0, 0, 1, 0x2c).raw(data).build()),
                // an unknown key after data
                RawCbor.frame(3, MessageType.EXEC_STDOUT,
                        new RawCbor().map(2).text("data").bytes(data).text("later").uint(1).build()),
                // envelope keys in another order
                RawCbor.frame(3, MessageType.EXEC_STDOUT.flags(), new RawCbor().map(3)
                        .text("t").text("core.exec.stdout").text("v").uint(7).text("p").bytes(canonicalPayload).build()),
                // a newer generation
                RawCbor.frame(3, MessageType.EXEC_STDOUT.flags(),
                        RawCbor.envelope(Protocol.GENERATION + 1, "core.exec.stdout", canonicalPayload)));
        for (byte[] frame : frames) {
            assertNull(DataFrameLayout.decodeCanonical(frame, 4, frame.length - 4, 3, frame[8] & 0xff));
            assertEquals(new Frame(3, MessageType.EXEC_STDOUT, new ExecData(data)), decode(frame));
        }
    }

    @Test
    void aCanonicalBodyWithWrongFlagsOrLengthsIsRefusedAsBefore() {
        byte[] good = new FrameEncoder().encode(new Frame(3, MessageType.EXEC_STDERR, new ExecData(random(40))));

        byte[] badFlags = good.clone();
        badFlags[8] ^= 1;
        assertNull(DataFrameLayout.decodeCanonical(badFlags, 4, badFlags.length - 4, 3, badFlags[8] & 0xff));
        assertEquals(ErrorKind.INVALID_FLAGS, assertThrows(ProtocolException.class, () -> decode(badFlags)).kind());

        // One byte more in the data's head than the payload has: the payload is cut short.
        byte[] shortData = good.clone();
        int dataHead = good.length - 40 - 2;
        shortData[dataHead + 1]++;
        assertNull(DataFrameLayout.decodeCanonical(shortData, 4, shortData.length - 4, 3, shortData[8] & 0xff));
        assertThrows(ProtocolException.class, () -> decode(shortData));
    }

    private static Frame decode(byte[] frame) throws ProtocolException {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(frame, 0, frame.length);
        Frame decoded = decoder.next();
        assertNull(decoder.next());
        return decoded;
    }

    private static byte[] random(int len) {
        byte[] b = new byte[len];
        new Random(len).nextBytes(b);
        return Arrays.copyOf(b, len);
    }
}
