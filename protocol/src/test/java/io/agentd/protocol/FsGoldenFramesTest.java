package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every entry of frames-fs.json (a verbatim copy of shared/fixtures/frames-fs.json): each decodes to
 * its fields and re-encodes byte for byte; the file covers every FsOp and FsResponseData variant;
 * and its hex is what the independent encoder writes from the fields.
 */
class FsGoldenFramesTest {
    private static final Set<String> OP_VARIANTS = Set.of("RealPath", "Stat", "SetStat", "List", "ReadLink",
            "Symlink", "Mkdir", "Remove", "RemoveDir", "Copy", "Rename", "OpenFile", "OpenDir", "CloseHandle", "Read",
            "Write", "ReadDir", "FStat", "FSetStat");
    private static final Set<String> DATA_VARIANTS = Set.of("Path", "Stat", "List", "Handle");

    @TestFactory
    Stream<DynamicTest> everyFsGoldenFrame() {
        return Fixtures.fsFrames().stream().map(f -> DynamicTest.dynamicTest(
                f.get("expect").asText() + ": " + f.get("name").asText(), () -> GoldenFramesTest.check(f)));
    }

    @Test
    void fsFramesCoverEveryVariantAndAreAllValid() {
        Set<String> ops = new TreeSet<>();
        Set<String> data = new TreeSet<>();
        boolean failure = false;
        boolean endOfWrite = false;
        for (JsonNode f : Fixtures.fsFrames()) {
            assertEquals("valid", f.get("expect").asText(), f.get("name").asText());
            Frame frame = Fixtures.expectedFrame(f);
            if (frame.payload() instanceof FsRequest request) {
                ops.add(request.op().variant());
            } else if (frame.payload() instanceof FsResponse response) {
                if (response.data() != null) {
                    data.add(response.data().variant());
                }
                failure |= !response.ok() && response.error() != null;
            } else if (frame.type() == MessageType.FS_DATA) {
                endOfWrite |= ((io.agentd.protocol.payload.ExecData) frame.payload()).isEmpty();
            }
        }
        assertEquals(new TreeSet<>(OP_VARIANTS), ops);
        assertEquals(new TreeSet<>(DATA_VARIANTS), data);
        assertTrue(failure && endOfWrite, "a failed response and an empty fs.data");
    }

    @Test
    void fsGoldenHexIsWhatAnIndependentEncoderWritesFromTheFields() {
        for (JsonNode f : Fixtures.fsFrames()) {
            assertEquals(f.get("hex").asText(), HexFormat.of().formatHex(IndependentFrameWriter.frame(f)),
                    f.get("name").asText());
        }
    }

    @Test
    void variantRecordsNameTheirWireVariant() {
        assertEquals("List", new FsOp.ListDir("/").variant());
        assertEquals("List", new FsResponseData.Entries(java.util.List.of()).variant());
    }
}
