package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionListResult;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The extension frames (frames-extensions.json) decode to their fields and re-encode byte for byte,
 * like frames.json's; and every golden hex of both files is what an encoder independent of the
 * project's (Jackson's generator) writes from the fixture's fields.
 */
class ExtensionGoldenFramesTest {

    @TestFactory
    Stream<DynamicTest> everyExtensionFrame() {
        return Fixtures.extensionFrames().stream().map(f -> DynamicTest.dynamicTest(
                f.get("expect").asText() + ": " + f.get("name").asText(), () -> GoldenFramesTest.check(f)));
    }

    @Test
    void extensionFramesCoverEveryExtensionFieldAndMessage() {
        Set<MessageType> types = EnumSet.noneOf(MessageType.class);
        boolean features = false;
        boolean stdinWindow = false;
        boolean timeout = false;
        boolean profile = false;
        boolean limits = false;
        boolean usage = false;
        boolean exitSignal = false;
        boolean timedOut = false;
        boolean fsRequest = false;
        boolean fsOptions = false;
        boolean fsWindow = false;
        boolean fsResponse = false;
        boolean sessionsFeature = false;
        boolean relayFlowFeature = false;
        boolean sessionDetachFeature = false;
        boolean exitDroppedFeature = false;
        boolean graceAndDrain = false;
        boolean detachable = false;
        boolean startDetached = false;
        boolean startedSession = false;
        boolean listOmitted = false;
        for (JsonNode f : Fixtures.extensionFrames()) {
            assertEquals("valid", f.get("expect").asText(), f.get("name").asText());
            Frame frame = Fixtures.expectedFrame(f);
            types.add(frame.type());
            if (frame.payload() instanceof Ready ready) {
                features |= ready.supports(Ready.FEATURE_STDIN_WINDOW);
                fsRequest |= ready.supports(Ready.FEATURE_FS_EXT);
                sessionsFeature |= ready.supports(Ready.FEATURE_SESSIONS);
                relayFlowFeature |= ready.supports(Ready.FEATURE_RELAY_FLOW);
                sessionDetachFeature |= ready.supports(Ready.FEATURE_SESSION_DETACH);
                exitDroppedFeature |= ready.supports(Ready.FEATURE_RELAY_EXIT_DROPPED);
                graceAndDrain |= ready.graceMs() != null && ready.drainMs() != null;
            } else if (frame.payload() instanceof ExecRequest request) {
                stdinWindow |= request.stdinWindow();
                timeout |= request.timeoutMs() != null;
                profile |= request.profile() != null;
                limits |= request.memoryMax() != null && request.pidsMax() != null;
                detachable |= request.detachable();
                startDetached |= request.detachable() && request.startDetached();
            } else if (frame.payload() instanceof SessionListResult list) {
                listOmitted |= list.omitted() > 0;
            } else if (frame.payload() instanceof ExecStarted started) {
                startedSession |= started.session() != null;
            } else if (frame.payload() instanceof ExecExited exited) {
                usage |= exited.usage().known() == 4;
                exitSignal |= exited.signal() != null;
                timedOut |= Boolean.TRUE.equals(exited.timedOut());
            } else if (frame.payload() instanceof FsRequest request) {
                fsRequest |= request.user() != null && request.extended();
                fsOptions |= request.op() instanceof FsOp.OpenFile open && open.options().atomic();
                fsWindow |= request.op() instanceof FsOp.Write write && write.window();
            } else if (frame.payload() instanceof FsResponse response) {
                fsResponse |= response.errno() != null && response.errnoName() != null || response.sha256() != null;
            }
        }
        assertEquals(EnumSet.of(MessageType.CORE_READY, MessageType.EXEC_REQUEST, MessageType.EXEC_STDIN_CREDIT,
                MessageType.EXEC_EXITED, MessageType.FS_REQUEST, MessageType.FS_CREDIT, MessageType.FS_RESPONSE,
                MessageType.EXEC_STARTED, MessageType.SESSION_LIST, MessageType.SESSION_LIST_RESULT,
                MessageType.SESSION_ATTACH, MessageType.SESSION_ATTACHED, MessageType.CORE_RELAY_CLIENT_PAUSED,
                MessageType.CORE_RELAY_CLIENT_RESUMED, MessageType.SESSION_DETACH, MessageType.SESSION_DETACHED,
                MessageType.CORE_RELAY_EXIT_DROPPED), types);
        assertTrue(features && stdinWindow && timeout && profile && limits && usage,
                "features, stdin_window, timeout_ms, profile, the limits and the usage each in a frame");
        assertTrue(exitSignal && timedOut, "exited's signal and timed_out each in a frame");
        assertTrue(fsRequest && fsOptions && fsWindow && fsResponse, "the fs extension fields each in a frame");
        assertTrue(sessionsFeature && detachable && startDetached && startedSession,
                "the feature sessions, the request's detachable and start_detached and started's session each in a frame");
        assertTrue(listOmitted, "a list result's omitted");
        assertTrue(relayFlowFeature, "the feature relay_flow in a ready");
        assertTrue(sessionDetachFeature, "the feature session_detach in a ready");
        assertTrue(exitDroppedFeature, "the feature relay_exit_dropped in a ready");
        assertTrue(graceAndDrain, "grace_ms and drain_ms in a ready");
    }

    /**
     * Jackson's generator has no plain form for a u64 above 2^63-1 (it writes a bignum tag, which
     * the protocol does not use), so the one fixture holding RLIM_INFINITY is left out.
     */
    @Test
    void goldenHexIsWhatAnIndependentEncoderWritesFromTheFields() {
        List<JsonNode> valid = new ArrayList<>();
        Stream.concat(Fixtures.frames().stream(), Fixtures.extensionFrames().stream())
                .filter(f -> f.get("expect").asText().equals("valid"))
                .filter(f -> !f.get("payload").toString().contains("18446744073709551615"))
                .forEach(valid::add);
        assertTrue(valid.size() >= 25, "frames compared: " + valid.size());
        for (JsonNode f : valid) {
            assertEquals(f.get("hex").asText(), HexFormat.of().formatHex(IndependentFrameWriter.frame(f)),
                    f.get("name").asText());
        }
    }
}
