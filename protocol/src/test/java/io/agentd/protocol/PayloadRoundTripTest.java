package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.ResourceUsage;
import io.agentd.protocol.payload.Rlimit;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import io.agentd.protocol.payload.Touched;
import java.io.IOException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every payload record, extensions included: encode, decode back equal, keys in PROTOCOL.md order. */
class PayloadRoundTripTest {
    private static final ObjectMapper GENERIC_CBOR = new ObjectMapper(new CBORFactory());
    private static final List<String> REQUEST_KEYS =
            List.of("cmd", "args", "env", "cwd", "user", "tty", "rows", "cols", "rlimits");

    static Stream<Arguments> everyRecord() {
        List<Arguments> cases = new ArrayList<>();
        List<String> readyKeys = List.of("boot_time_ns", "init_time_ns", "ready_time_ns");
        add(cases, "ready", 0, MessageType.CORE_READY, new Ready(812_000_000L, 1_500_000L, 95_000_000L, "0.1.0"),
                concat(readyKeys, "agent_version"));
        add(cases, "ready without version", 0, MessageType.CORE_READY, new Ready(1, 2, 3, ""), readyKeys);
        add(cases, "ready u64 extremes", 0, MessageType.CORE_READY,
                new Ready(-1L, Long.MIN_VALUE, Long.MAX_VALUE, "é"), concat(readyKeys, "agent_version"));
        add(cases, "ready with grace and drain at u64 extremes", 0, MessageType.CORE_READY,
                new Ready(1, 2, 3, "", List.of(), -1L, 0L), concat(readyKeys, "grace_ms", "drain_ms"));
        add(cases, "shutdown", 0, MessageType.CORE_SHUTDOWN, null, null);
        add(cases, "ping", 7, MessageType.CORE_PING, Empty.INSTANCE, List.of());
        add(cases, "pong", 7, MessageType.CORE_PONG, Empty.INSTANCE, List.of());
        add(cases, "touch", 8, MessageType.CORE_TOUCH, Empty.INSTANCE, List.of());
        add(cases, "touched max", 8, MessageType.CORE_TOUCHED, new Touched(-1L), List.of("activity_seq"));
        add(cases, "clock sync", 0, MessageType.CORE_CLOCK_SYNC, new ClockSync(1_795_000_000_000_000_000L),
                List.of("unix_time_nanos"));
        List<String> errorKeys = List.of("kind", "message", "offending_type");
        add(cases, "error", 9, MessageType.CORE_ERROR,
                new ErrorPayload("invalid_payload", "core.exec.request: missing field cmd", "core.exec.request"), errorKeys);
        add(cases, "error without type", 9, MessageType.CORE_ERROR,
                new ErrorPayload("malformed_message", "ünïcode ✓", null), errorKeys);
        add(cases, "request with timeout_ms", 0xFFFF_FFFFL, MessageType.EXEC_REQUEST,
                new ExecRequest("/bin/sh", List.of("-c", "sleep 9"), List.of("A=1", "B="), "/tmp", "nobody", true,
                        0, 65535, List.of(new Rlimit("nofile", 1024, 4096), new Rlimit("as", Rlimit.INFINITY,
                        Rlimit.INFINITY)), 30_000L),
                concat(REQUEST_KEYS, "timeout_ms"));
        add(cases, "request without timeout_ms", 1, MessageType.EXEC_REQUEST, ExecRequest.of("/bin/echo", "hi"),
                REQUEST_KEYS);
        add(cases, "request with limits, u64 past 2^63", 1, MessageType.EXEC_REQUEST,
                ExecRequest.of("/bin/true").withLimits(-1L, 64L), concat(REQUEST_KEYS, "memory_max", "pids_max"));
        add(cases, "started pid 0", 1, MessageType.EXEC_STARTED, new ExecStarted(0), List.of("pid"));
        add(cases, "started pid u32 max", 1, MessageType.EXEC_STARTED, new ExecStarted(0xFFFF_FFFFL), List.of("pid"));
        add(cases, "stdin eof", 1, MessageType.EXEC_STDIN, ExecData.EOF, List.of("data"));
        add(cases, "stdout 70000 bytes", 1, MessageType.EXEC_STDOUT, new ExecData(pattern(70_000)), List.of("data"));
        add(cases, "stderr 24 bytes", 1, MessageType.EXEC_STDERR, new ExecData(pattern(24)), List.of("data"));
        List<String> stdinErrorKeys = List.of("errno", "errno_name", "message");
        add(cases, "stdin error", 1, MessageType.EXEC_STDIN_ERROR, new ExecStdinError(32, "EPIPE", "Broken pipe"),
                stdinErrorKeys);
        add(cases, "stdin error nulls", 1, MessageType.EXEC_STDIN_ERROR, new ExecStdinError(null, null, "x"),
                stdinErrorKeys);
        add(cases, "exited normal", 1, MessageType.EXEC_EXITED, ExecExited.normal(3), List.of("code"));
        add(cases, "exited by signal at timeout", 1, MessageType.EXEC_EXITED, new ExecExited(137, 9, true),
                List.of("code", "signal", "timed_out"));
        add(cases, "exited timed_out false only", 1, MessageType.EXEC_EXITED, new ExecExited(0, null, false),
                List.of("code", "timed_out"));
        add(cases, "exited with usage", 1, MessageType.EXEC_EXITED,
                new ExecExited(137, 9, null, new ResourceUsage(0L, Long.MAX_VALUE, 1L << 40, true)),
                List.of("code", "signal", "cpu_user_us", "cpu_system_us", "memory_peak_bytes", "oom_killed"));
        add(cases, "exited with cpu time only", 1, MessageType.EXEC_EXITED,
                new ExecExited(0, null, null, new ResourceUsage(12L, 34L, null, null)),
                List.of("code", "cpu_user_us", "cpu_system_us"));
        add(cases, "exited i32 min", 1, MessageType.EXEC_EXITED, new ExecExited(Integer.MIN_VALUE, Integer.MAX_VALUE,
                null), List.of("code", "signal"));
        List<String> failedKeys = List.of("kind", "errno", "errno_name", "message", "stage");
        add(cases, "failed", 3, MessageType.EXEC_FAILED,
                ExecFailed.of(FailureKind.BAD_CWD, 20, "ENOTDIR", "chdir /etc/passwd", "chdir"), failedKeys);
        add(cases, "failed nulls", 3, MessageType.EXEC_FAILED, new ExecFailed("other", null, null, "m", null),
                failedKeys);
        add(cases, "resize extremes", 2, MessageType.EXEC_RESIZE, new ExecResize(0, 65535), List.of("rows", "cols"));
        add(cases, "signal negative", 1, MessageType.EXEC_SIGNAL, new ExecSignal(-1), List.of("signal"));
        sessionRecords(cases);
        return cases.stream();
    }

    /** The sessions extension: its request field, started's session and its four messages. */
    private static void sessionRecords(List<Arguments> cases) {
        add(cases, "request detachable", 1, MessageType.EXEC_REQUEST, ExecRequest.of("/bin/sh").withDetachable(true),
                concat(REQUEST_KEYS, "detachable"));
        add(cases, "started with session u64 max", 1, MessageType.EXEC_STARTED, new ExecStarted(12, -1L),
                List.of("pid", "session"));
        add(cases, "session list", 4, MessageType.SESSION_LIST, Empty.INSTANCE, List.of());
        List<String> infoKeys = List.of("session", "pid", "cmd", "args", "tty", "user", "state", "started_unix_ms",
                "exit_code", "signal", "bytes_out", "retained_start", "retained_end", "dropped", "attached",
                "detachable");
        SessionInfo running = new SessionInfo(1, 4321, "/bin/sh", List.of("-c", "yes"), false, null,
                SessionInfo.RUNNING, 1_795_000_000_000L, null, null, 3_000_000L, 1_951_424L, 3_000_000L, 1_951_424L,
                true, true);
        SessionInfo exited = new SessionInfo(-1L, 0xFFFF_FFFFL, "/usr/bin/top", List.of(), true, "nobody",
                SessionInfo.EXITED, 0, 137, 9, 0, 0, 0, 0, false, false);
        add(cases, "session list result", 4, MessageType.SESSION_LIST_RESULT,
                new SessionListResult(List.of(running, exited)), List.of("sessions"));
        add(cases, "session list result empty", 4, MessageType.SESSION_LIST_RESULT, new SessionListResult(List.of()),
                List.of("sessions"));
        add(cases, "attach from oldest", 5, MessageType.SESSION_ATTACH, new SessionAttach(7, null, false),
                List.of("session", "from", "stdin_window"));
        add(cases, "attach from u64 max with window", 5, MessageType.SESSION_ATTACH, new SessionAttach(7, -1L, true),
                List.of("session", "from", "stdin_window"));
        add(cases, "attached", 5, MessageType.SESSION_ATTACHED, new SessionAttached(7, 4321, true, 1024, 512),
                List.of("session", "pid", "tty", "from", "missed"));
        add(cases, "detached", 5, MessageType.SESSION_DETACHED, new SessionDetached(7, -1L), List.of("session", "offset"));
    }

    @Test
    void sessionInfoKeysInExtensionOrder() throws ProtocolException, IOException {
        SessionInfo info = new SessionInfo(3, 1, "c", List.of("a"), false, "u", SessionInfo.EXITED, 5, 0, null, 9, 1,
                9, 1, false, true);
        byte[] bytes = new FrameEncoder().encode(new Frame(1, MessageType.SESSION_LIST_RESULT,
                new SessionListResult(List.of(info))));
        Map<?, ?> envelope = GENERIC_CBOR.readValue(Arrays.copyOfRange(bytes, 9, bytes.length), LinkedHashMap.class);
        Map<?, ?> payload = GENERIC_CBOR.readValue((byte[]) envelope.get("p"), LinkedHashMap.class);
        Map<?, ?> first = (Map<?, ?>) ((List<?>) payload.get("sessions")).get(0);
        assertEquals(List.of("session", "pid", "cmd", "args", "tty", "user", "state", "started_unix_ms", "exit_code",
                "signal", "bytes_out", "retained_start", "retained_end", "dropped", "attached", "detachable"),
                new ArrayList<>(first.keySet()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyRecord")
    void encodesInProtocolKeyOrderAndDecodesBackEqual(String name, Frame frame, List<String> keys)
            throws ProtocolException, IOException {
        FrameEncoder encoder = new FrameEncoder();
        byte[] bytes = encoder.encode(frame);
        assertEquals(bytes.length, encoder.encodedSize(frame));
        assertEquals(bytes.length - 4, ByteBuffer.wrap(bytes).getInt(), "length prefix");

        Frame decoded = decode(bytes);
        assertEquals(frame, decoded);
        assertArrayEquals(bytes, encoder.encode(decoded), "re-encoding is stable");

        ByteBuffer out = ByteBuffer.allocate(bytes.length + 16).position(7);
        assertEquals(bytes.length, encoder.encodeInto(frame, out));
        assertArrayEquals(bytes, Arrays.copyOfRange(out.array(), 7, 7 + bytes.length), "encodeInto");

        // Read back with Jackson's generic CBOR mapper, an independent decoder that keeps key order.
        Map<?, ?> envelope = GENERIC_CBOR.readValue(Arrays.copyOfRange(bytes, 9, bytes.length), LinkedHashMap.class);
        assertEquals(List.of("v", "t", "p"), new ArrayList<>(envelope.keySet()));
        assertEquals(Protocol.GENERATION, envelope.get("v"));
        assertEquals(frame.type().wire(), envelope.get("t"));
        byte[] p = (byte[]) envelope.get("p");
        if (keys == null) {
            assertArrayEquals(new byte[] {(byte) 0xf6}, p, "shutdown payload is CBOR null");
        } else {
            Map<?, ?> payload = GENERIC_CBOR.readValue(p, LinkedHashMap.class);
            assertEquals(keys, new ArrayList<>(payload.keySet()));
        }
    }

    @Test
    void u64ValuesUseTheShortestHeadAtEveryBoundary() {
        long[] values = {0, 23, 24, 255, 256, 65535, 65536, 0xFFFF_FFFFL, 0x1_0000_0000L, Long.MAX_VALUE, -1L};
        for (long value : values) {
            byte[] expected = RawCbor.frame(5, MessageType.CORE_TOUCHED,
                    new RawCbor().map(1).text("activity_seq").uint(value).build());
            assertArrayEquals(expected, new FrameEncoder().encode(new Frame(5, MessageType.CORE_TOUCHED,
                    new Touched(value))), Long.toUnsignedString(value));
        }
    }

    @Test
    void signedValuesUseTheShortestHeadAtEveryBoundary() {
        int[] values = {-1, -24, -25, -256, -257, -65536, -65537, Integer.MIN_VALUE, Integer.MAX_VALUE};
        for (int value : values) {
            byte[] expected = RawCbor.frame(5, MessageType.EXEC_SIGNAL,
                    new RawCbor().map(1).text("signal").integer(value).build());
            assertArrayEquals(expected, new FrameEncoder().encode(new Frame(5, MessageType.EXEC_SIGNAL,
                    new ExecSignal(value))), Integer.toString(value));
        }
    }

    @Test
    void longAndNonAsciiTextIsOneDefiniteLengthString() {
        String longArg = "x".repeat(200_000);
        String unicode = "grüße ✓ \uD83D\uDE00";
        ExecRequest request = new ExecRequest("/bin/echo", List.of(longArg, unicode), List.of(), null, null,
                false, 24, 80, List.of(), null);
        byte[] expectedPayload = new RawCbor().map(9).text("cmd").text("/bin/echo").text("args").array(2)
                .text(longArg).text(unicode).text("env").array(0).text("cwd").nul().text("user").nul()
                .text("tty").bool(false).text("rows").uint(24).text("cols").uint(80).text("rlimits").array(0).build();
        assertArrayEquals(RawCbor.frame(1, MessageType.EXEC_REQUEST, expectedPayload),
                new FrameEncoder().encode(new Frame(1, MessageType.EXEC_REQUEST, request)));
    }

    @Test
    void nullAgentVersionIsOmittedLikeAnEmptyOne() throws ProtocolException {
        FrameEncoder encoder = new FrameEncoder();
        byte[] withNull = encoder.encode(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, null)));
        assertArrayEquals(encoder.encode(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, ""))), withNull);
        assertEquals(new Ready(1, 2, 3, ""), decode(withNull).payload());
    }

    // ---- encodeDataInto: the output hot path

    @Test
    void encodeDataIntoWritesTheSameBytesAsAnExecDataFrame() {
        FrameEncoder encoder = new FrameEncoder();
        byte[] source = pattern(70_100);
        for (MessageType type : List.of(MessageType.EXEC_STDIN, MessageType.EXEC_STDOUT, MessageType.EXEC_STDERR)) {
            for (int len : new int[] {0, 1, 23, 24, 255, 256, 65535, 65536, 70_000}) {
                byte[] expected = encoder.encode(new Frame(9, type, new ExecData(Arrays.copyOfRange(source, 100,
                        100 + len))));
                ByteBuffer out = ByteBuffer.allocate(FrameEncoder.maxDataFrameSize(len));
                assertEquals(expected.length, encoder.encodeDataInto(9, type, source, 100, len, out));
                assertArrayEquals(expected, Arrays.copyOf(out.array(), out.position()), type + " " + len);
            }
        }
    }

    @Test
    void largestDataChunkFitsOneFrameAndDecodes() throws ProtocolException {
        byte[] chunk = pattern(FrameEncoder.maxDataChunk());
        ByteBuffer out = ByteBuffer.allocate(FrameEncoder.maxDataFrameSize(chunk.length));
        int written = new FrameEncoder().encodeDataInto(1, MessageType.EXEC_STDOUT, chunk, 0, chunk.length, out);
        assertTrue(written - Protocol.LENGTH_BYTES <= Protocol.MAX_FRAME_LEN);
        assertEquals(new Frame(1, MessageType.EXEC_STDOUT, new ExecData(chunk)), decode(Arrays.copyOf(out.array(), written)));
    }

    @Test
    void encodeIntoWithoutRoomThrowsOverflowAndWritesNothing() {
        ByteBuffer out = ByteBuffer.allocate(20).position(3);
        FrameEncoder encoder = new FrameEncoder();
        assertThrows(BufferOverflowException.class,
                () -> encoder.encodeDataInto(1, MessageType.EXEC_STDOUT, new byte[100], 0, 100, out));
        assertThrows(BufferOverflowException.class,
                () -> encoder.encodeInto(new Frame(1, MessageType.EXEC_REQUEST, ExecRequest.of("/bin/true")), out));
        assertEquals(3, out.position());
        assertArrayEquals(new byte[20], out.array());
    }

    // ---- what the encoder refuses to put on the wire

    @Test
    void encoderRefusesFramesADecoderWouldRefuse() {
        FrameEncoder encoder = new FrameEncoder();
        List<Frame> bad = List.of(
                new Frame(1, MessageType.EXEC_RESIZE, new ExecResize(70_000, 80)),
                new Frame(1, MessageType.EXEC_REQUEST, new ExecRequest("/bin/true", null, null, null, null, false,
                        24, -1, null, null)),
                new Frame(1, MessageType.EXEC_REQUEST, new ExecRequest(null, null, null, null, null, false, 24, 80,
                        null, null)),
                new Frame(1, MessageType.EXEC_STARTED, new ExecStarted(-1)),
                new Frame(1, MessageType.CORE_ERROR, new ErrorPayload("invalid_payload", null, null)),
                new Frame(1, MessageType.CORE_PING, new Touched(1)),
                new Frame(0, MessageType.CORE_SHUTDOWN, Empty.INSTANCE),
                new Frame(1, MessageType.CORE_PING, null),
                new Frame(1, MessageType.CORE_PING, new ExecData(new byte[1])),
                new Frame(1, MessageType.EXEC_STDIN, new ExecData(new byte[Protocol.MAX_FRAME_LEN])));
        for (Frame frame : bad) {
            assertThrows(IllegalArgumentException.class, () -> encoder.encode(frame), frame.toString());
        }
        ByteBuffer out = ByteBuffer.allocate(100);
        assertThrows(IllegalArgumentException.class,
                () -> encoder.encodeDataInto(1, MessageType.EXEC_SIGNAL, new byte[1], 0, 1, out));
        assertThrows(IllegalArgumentException.class,
                () -> encoder.encodeDataInto(1L << 32, MessageType.EXEC_STDOUT, new byte[1], 0, 1, out));
        assertThrows(IndexOutOfBoundsException.class,
                () -> encoder.encodeDataInto(1, MessageType.EXEC_STDOUT, new byte[4], 2, 3, out));
        assertEquals(0, out.position());
    }

    // ---- helpers

    private static Frame decode(byte[] bytes) throws ProtocolException {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(bytes, 0, bytes.length);
        Frame frame = decoder.next();
        assertNull(decoder.next());
        return frame;
    }

    private static void add(List<Arguments> cases, String name, long id, MessageType type, Payload payload,
                            List<String> keys) {
        cases.add(Arguments.of(name, new Frame(id, type, payload), keys));
    }

    private static List<String> concat(List<String> keys, String... extra) {
        List<String> all = new ArrayList<>(keys);
        all.addAll(List.of(extra));
        return all;
    }

    private static byte[] pattern(int len) {
        byte[] data = new byte[len];
        for (int i = 0; i < len; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        return data;
    }
}
