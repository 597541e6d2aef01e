package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
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
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import io.agentd.protocol.payload.Rlimit;
import io.agentd.protocol.payload.Touched;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A million random and mutated inputs through the decoder: each either decodes or is refused with a
 * ProtocolException; nothing else escapes, the decoder never holds more than its frame limit, and
 * every frame it accepts re-encodes and decodes back equal. Seeded (-Dfuzz.seed=N to vary) so a
 * failure can be replayed; a failure names the input in hex.
 */
class DecoderFuzzTest {
    private static final int INPUTS = 1_000_000;
    /** Below the protocol's 4 MiB so random lengths are often accepted and their bodies buffered. */
    private static final int LIMIT = 64 * 1024;
    private static final long SEED = Long.getLong("fuzz.seed", 0xA6E17DL);

    private static final String[] BASE_KEYS = {"v", "t", "p", "cmd", "args", "env", "cwd", "user", "tty", "rows", "cols",
        "rlimits", "resource", "soft", "hard", "timeout_ms", "pid", "data", "errno", "errno_name", "message", "kind",
        "stage", "code", "signal", "timed_out", "boot_time_ns", "init_time_ns", "ready_time_ns", "agent_version",
        "activity_seq", "unix_time_nanos", "offending_type", "features", "stdin_window", "profile", "bytes"};
    private static final String[] KEYS = java.util.stream.Stream.concat(Arrays.stream(BASE_KEYS),
            Arrays.stream(RandomFsPayloads.KEYS)).toArray(String[]::new);
    private static final int[] INTERESTING_BYTES = {0x00, 0x01, 0x07, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20,
        0x3b, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xc3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfb, 0xff};
    private static final long[] INTERESTING_INTS = {0, 1, 23, 24, 255, 256, 65535, 65536, 0x7fff_ffffL, 0x8000_0000L,
        0xffff_ffffL, 0x1_0000_0000L, Long.MAX_VALUE, -1L};

    private final Random random = new Random(SEED);
    private final RandomFsPayloads fs = new RandomFsPayloads(random, this::text, this::u64);
    private final List<byte[]> seeds = seedFrames();
    private final FrameEncoder encoder = new FrameEncoder();

    private int decoded;
    private final Map<ErrorKind, Integer> refusals = new EnumMap<>(ErrorKind.class);

    @Test
    @Timeout(600)
    void aMillionRandomAndMutatedInputsEitherDecodeOrAreRefusedTyped() {
        FrameDecoder decoder = new FrameDecoder(LIMIT);
        long start = System.nanoTime();
        for (int i = 0; i < INPUTS; i++) {
            byte[] input = switch (i % 10) {
                case 0 -> randomBytes(random.nextInt(48));
                case 1 -> frameAround(randomBytes(random.nextInt(64)));
                case 2, 3, 4, 5 -> mutated(seeds.get(random.nextInt(seeds.size())), 1 + random.nextInt(4));
                case 6, 7 -> structured();
                default -> mutated(encoder.encode(randomValidFrame()), random.nextInt(3));
            };
            try {
                feedInPieces(decoder, input);
            } catch (Throwable t) {
                throw new AssertionError("input #" + i + " (seed " + SEED + "): " + HexFormat.of().formatHex(input), t);
            }
            if (random.nextInt(8) != 0) {
                decoder.reset(); // mostly a fresh stream; otherwise the next input lands on this one's leftovers
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("fuzz: %d inputs in %.1f s (seed %d): %d frames decoded, refusals %s%n",
                INPUTS, seconds, SEED, decoded, refusals);

        assertTrue(decoded > INPUTS / 20, "too few inputs reached a whole decode: " + decoded);
        Set<ErrorKind> expectedKinds = EnumSet.allOf(ErrorKind.class);
        expectedKinds.remove(ErrorKind.INVALID_SESSION); // the agent's, not the codec's
        assertFalse(refusals.containsKey(ErrorKind.INVALID_SESSION), "the codec refused with the agent's kind");
        // limit_exceeded is reached only when a mutation lands on a declared count (a session list's
        // length), which depends on the seed's draw: allowed, not required.
        expectedKinds.remove(ErrorKind.LIMIT_EXCEEDED);
        assertTrue(refusals.keySet().containsAll(expectedKinds), "every refusal path reached: " + refusals.keySet());
    }

    @Test
    @Timeout(120)
    void randomValidFramesDecodeToExactlyWhatWasEncoded() throws ProtocolException {
        FrameDecoder decoder = new FrameDecoder();
        for (int round = 0; round < 20_000; round++) {
            Frame frame = randomValidFrame();
            byte[] bytes = encoder.encode(frame);
            int cut = random.nextInt(bytes.length + 1);
            decoder.feed(bytes, 0, cut);
            decoder.feed(bytes, cut, bytes.length - cut);
            assertEquals(frame, decoder.next(), () -> HexFormat.of().formatHex(bytes));
            assertEquals(0, decoder.buffered());
        }
    }

    // ---- the checks run on every input

    private void feedInPieces(FrameDecoder decoder, byte[] input) throws ProtocolException {
        int pieces = 1 + random.nextInt(3);
        int at = 0;
        for (int p = 1; p <= pieces; p++) {
            int end = p == pieces ? input.length : at + random.nextInt(input.length - at + 1);
            decoder.feed(input, at, end - at);
            at = end;
            drain(decoder);
            if (decoder.buffered() > LIMIT || decoder.bufferCapacity() > LIMIT) {
                throw new AssertionError("decoder holds " + decoder.buffered() + " bytes in a buffer of "
                        + decoder.bufferCapacity() + ", limit " + LIMIT);
            }
        }
    }

    private void drain(FrameDecoder decoder) throws ProtocolException {
        while (true) {
            Frame frame;
            try {
                frame = decoder.next();
            } catch (ProtocolException e) {
                RefusalChecks.check(e);
                refusals.merge(e.kind(), 1, Integer::sum);
                continue;
            }
            if (frame == null) {
                return;
            }
            decoded++;
            byte[] again = encoder.encode(frame); // an accepted frame must be encodable as it stands
            Frame back = FrameDecoder.decodeFrame(again, Protocol.LENGTH_BYTES, again.length - Protocol.LENGTH_BYTES);
            if (!back.equals(frame)) {
                throw new AssertionError("re-encoded frame decodes differently: " + frame + " vs " + back);
            }
        }
    }

    // ---- inputs

    private byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }

    /** A length prefix that fits the body, an id, flags, then the given body. */
    private byte[] frameAround(byte[] body) {
        return RawCbor.frame(random.nextInt() & 0xffffffffL, random.nextInt(8), body);
    }

    /** {@code frame} with that many mutations; mostly with its length prefix fixed up so the body is parsed. */
    private byte[] mutated(byte[] frame, int mutations) {
        byte[] b = frame.clone();
        for (int m = 0; m < mutations && b.length > 0; m++) {
            int at = random.nextInt(b.length);
            switch (random.nextInt(7)) {
                case 0 -> b[at] ^= (byte) (1 << random.nextInt(8));
                case 1 -> b[at] = (byte) INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)];
                case 2 -> b = splice(b, at, at, randomBytes(1 + random.nextInt(8)));
                case 3 -> b = splice(b, at, Math.min(b.length, at + 1 + random.nextInt(8)), new byte[0]);
                case 4 -> b = Arrays.copyOf(b, at);
                case 5 -> b = splice(b, at, at, Arrays.copyOfRange(b, at, Math.min(b.length, at + 1 + random.nextInt(16))));
                default -> {
                    byte[] other = seeds.get(random.nextInt(seeds.size()));
                    int from = random.nextInt(other.length);
                    b = splice(b, at, b.length, Arrays.copyOfRange(other, from, other.length));
                }
            }
        }
        if (b.length >= Protocol.LENGTH_BYTES && random.nextInt(4) != 0) {
            ByteBuffer.wrap(b).putInt(b.length - Protocol.LENGTH_BYTES);
        }
        return b;
    }

    /** A sound frame around a known (or sometimes unknown) type whose payload is random CBOR. */
    private byte[] structured() {
        MessageType[] types = MessageType.values();
        MessageType type = types[random.nextInt(types.length)];
        String t = random.nextInt(20) == 0 ? "core.x" + random.nextInt(3) : type.wire();
        int flags = random.nextInt(10) == 0 ? random.nextInt(8) : type.flags();
        long v = random.nextInt(10) == 0 ? random.nextInt(10) : Protocol.GENERATION;
        byte[] payload;
        if (random.nextBoolean()) {
            RawCbor map = new RawCbor();
            int entries = random.nextInt(5);
            map.map(entries);
            for (int e = 0; e < entries; e++) {
                map.text(KEYS[random.nextInt(KEYS.length)]);
                item(map, 0);
            }
            payload = map.build();
        } else {
            RawCbor any = new RawCbor();
            item(any, 0);
            payload = any.build();
        }
        return RawCbor.frame(random.nextInt(1 << 16), flags, RawCbor.envelope(v, t, payload));
    }

    /** One random CBOR item, well-formed or not: every major type, indefinite lengths, tags, lies about lengths. */
    private void item(RawCbor c, int depth) {
        switch (random.nextInt(depth > 3 ? 8 : 13)) {
            case 0 -> c.uint(INTERESTING_INTS[random.nextInt(INTERESTING_INTS.length)] + random.nextInt(3) - 1);
            case 1 -> c.head(1, INTERESTING_INTS[random.nextInt(INTERESTING_INTS.length)]);
            case 2 -> c.text(random.nextBoolean() ? KEYS[random.nextInt(KEYS.length)] : "x".repeat(random.nextInt(40)));
            case 3 -> c.head(3, random.nextInt(6)).raw(randomBytes(random.nextInt(6))); // text, maybe bad UTF-8 or short
            case 4 -> c.bytes(randomBytes(random.nextInt(30)));
            case 5 -> c.raw(0xf4 + random.nextInt(4));
            case 6 -> c.raw(0xf0 + random.nextInt(16)).raw(randomBytes(random.nextInt(9)));
            case 7 -> c.raw(INTERESTING_BYTES[random.nextInt(INTERESTING_BYTES.length)]);
            case 8 -> {
                int n = random.nextInt(4);
                c.array(n);
                for (int i = 0; i < n; i++) {
                    item(c, depth + 1);
                }
            }
            case 9 -> {
                int n = random.nextInt(4);
                c.map(n);
                for (int i = 0; i < n; i++) {
                    c.text(KEYS[random.nextInt(KEYS.length)]);
                    item(c, depth + 1);
                }
            }
            case 10 -> {
                c.raw(0x9f + 0x20 * random.nextInt(2)); // indefinite array or map
                int n = random.nextInt(3);
                for (int i = 0; i < n; i++) {
                    item(c, depth + 1);
                }
                c.raw(0xff);
            }
            case 11 -> c.raw(0x5f + 0x20 * random.nextInt(2)).head(2 + random.nextInt(2), 2).raw('a', 'b').raw(0xff);
            default -> {
                c.raw(0xc0 + random.nextInt(8)); // a tag, then whatever follows
                item(c, depth + 1);
            }
        }
    }

    private Frame randomValidFrame() {
        MessageType[] types = MessageType.values();
        MessageType type = types[random.nextInt(types.length)];
        long id = random.nextInt() & 0xffffffffL;
        Payload payload = switch (type) {
            case CORE_READY -> new Ready(random.nextLong(), random.nextLong(), random.nextLong(), text(),
                    random.nextBoolean() ? List.of() : texts(), random.nextBoolean() ? null : u64(),
                    random.nextBoolean() ? null : u64());
            case CORE_SHUTDOWN -> null;
            case CORE_PING, CORE_PONG, CORE_TOUCH -> Empty.INSTANCE;
            case CORE_TOUCHED -> new Touched(u64());
            case CORE_CLOCK_SYNC -> new ClockSync(u64());
            case CORE_ERROR -> new ErrorPayload(text(), text(), random.nextBoolean() ? null : text());
            case EXEC_REQUEST -> new ExecRequest(text(), texts(), texts(), random.nextBoolean() ? null : text(),
                    random.nextBoolean() ? null : text(), random.nextBoolean(), random.nextInt(65536),
                    random.nextInt(65536), rlimits(), random.nextBoolean() ? null : u64(), random.nextBoolean())
                    .withDetachable(random.nextBoolean());
            case EXEC_STARTED -> new ExecStarted(random.nextInt() & 0xffffffffL, random.nextBoolean() ? null : u64());
            case EXEC_STDIN, EXEC_STDOUT, EXEC_STDERR -> new ExecData(randomBytes(random.nextInt(300)));
            case EXEC_STDIN_ERROR -> new ExecStdinError(random.nextBoolean() ? null : random.nextInt(),
                    random.nextBoolean() ? null : text(), text());
            case EXEC_EXITED -> new ExecExited(random.nextInt(), random.nextBoolean() ? null : random.nextInt(),
                    random.nextBoolean() ? null : random.nextBoolean());
            case EXEC_FAILED -> new ExecFailed(text(), random.nextBoolean() ? null : random.nextInt(),
                    random.nextBoolean() ? null : text(), text(), random.nextBoolean() ? null : text());
            case EXEC_RESIZE -> new ExecResize(random.nextInt(65536), random.nextInt(65536));
            case EXEC_SIGNAL -> new ExecSignal(random.nextInt());
            case EXEC_STDIN_CREDIT -> new ExecStdinCredit(u64());
            case CORE_RELAY_CLIENT_DISCONNECTED, CORE_RELAY_CLIENT_PAUSED, CORE_RELAY_CLIENT_RESUMED -> {
                long a = random.nextInt() & 0xffffffffL;
                long b = random.nextInt() & 0xffffffffL;
                yield new RelayClientRange(Math.min(a, b), Math.max(a, b));
            }
            case FS_REQUEST -> fs.request();
            case FS_DATA -> new ExecData(randomBytes(random.nextInt(300)));
            case FS_RESPONSE -> fs.response();
            case FS_CREDIT -> new ExecStdinCredit(u64());
            case SESSION_LIST, SESSION_DETACH, CORE_RELAY_EXIT_DROPPED -> Empty.INSTANCE;
            case SESSION_DETACHED -> new SessionDetached(u64(), u64());
            case SESSION_LIST_RESULT -> new SessionListResult(sessionInfos());
            case SESSION_ATTACH -> new SessionAttach(u64(), random.nextBoolean() ? null : u64(), random.nextBoolean());
            case SESSION_ATTACHED -> new SessionAttached(u64(), random.nextInt() & 0xffffffffL, random.nextBoolean(),
                    u64(), u64());
        };
        return new Frame(id, type, payload);
    }

    private List<SessionInfo> sessionInfos() {
        List<SessionInfo> infos = new ArrayList<>();
        for (int i = random.nextInt(4); i > 0; i--) {
            infos.add(new SessionInfo(u64(), random.nextInt() & 0xffffffffL, text(), texts(), random.nextBoolean(),
                    random.nextBoolean() ? null : text(), random.nextBoolean() ? SessionInfo.RUNNING : text(), u64(),
                    random.nextBoolean() ? null : random.nextInt(), random.nextBoolean() ? null : random.nextInt(),
                    u64(), u64(), u64(), u64(), random.nextBoolean(), random.nextBoolean()));
        }
        return infos;
    }

    private long u64() {
        return random.nextBoolean() ? INTERESTING_INTS[random.nextInt(INTERESTING_INTS.length)] : random.nextLong();
    }

    private String text() {
        StringBuilder s = new StringBuilder();
        int n = random.nextInt(12);
        for (int i = 0; i < n; i++) {
            s.appendCodePoint(random.nextInt(4) == 0 ? 0x80 + random.nextInt(0x2000) : 0x20 + random.nextInt(0x5f));
        }
        return s.toString();
    }

    private List<String> texts() {
        List<String> items = new ArrayList<>();
        for (int i = random.nextInt(4); i > 0; i--) {
            items.add(text());
        }
        return items;
    }

    private List<Rlimit> rlimits() {
        List<Rlimit> limits = new ArrayList<>();
        for (int i = random.nextInt(3); i > 0; i--) {
            limits.add(new Rlimit(text(), u64(), u64()));
        }
        return limits;
    }

    private static byte[] splice(byte[] b, int from, int to, byte[] insert) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(b, 0, from);
        out.writeBytes(insert);
        out.write(b, to, b.length - to);
        return out.toByteArray();
    }

    /** Every golden frame, plus encoded frames that use the extensions. */
    private static List<byte[]> seedFrames() {
        List<byte[]> seeds = new ArrayList<>();
        for (JsonNode f : Fixtures.frames()) {
            seeds.add(Fixtures.bytes(f));
        }
        for (JsonNode f : Fixtures.fsFrames()) {
            seeds.add(Fixtures.bytes(f));
        }
        FrameEncoder encoder = new FrameEncoder();
        seeds.add(encoder.encode(new Frame(3, MessageType.EXEC_REQUEST, new ExecRequest("/bin/sh", List.of("-c", "x"),
                List.of("A=B"), "/", "root", true, 30, 100, List.of(new Rlimit("cpu", 1, Rlimit.INFINITY)), 5000L))));
        seeds.add(encoder.encode(new Frame(3, MessageType.EXEC_EXITED, new ExecExited(143, 15, true))));
        return seeds;
    }
}
