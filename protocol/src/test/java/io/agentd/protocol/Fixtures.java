package io.agentd.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ResourceUsage;
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
import io.agentd.protocol.payload.Rlimit;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import io.agentd.protocol.payload.Touched;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * The golden frames: frames.json (from the testsupport module, shared with agentd's tests), a
 * verbatim copy of shared/fixtures/frames.json (the contract), and frames-extensions.json, this
 * project's extensions in the same format.
 */
final class Fixtures {
    private static final List<JsonNode> FRAMES = load("/frames.json");
    private static final List<JsonNode> EXTENSION_FRAMES = load("/frames-extensions.json");
    private static final List<JsonNode> FS_FRAMES = load("/frames-fs.json");

    private Fixtures() {}

    static List<JsonNode> frames() {
        return FRAMES;
    }

    static List<JsonNode> extensionFrames() {
        return EXTENSION_FRAMES;
    }

    /** shared/fixtures/frames-fs.json, verbatim: the fs family and the relay notice. */
    static List<JsonNode> fsFrames() {
        return FS_FRAMES;
    }

    static JsonNode named(String name) {
        return FRAMES.stream().filter(f -> f.get("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no fixture " + name));
    }

    static byte[] bytes(JsonNode frame) {
        return HexFormat.of().parseHex(frame.get("hex").asText());
    }

    /** The id in a frame's header bytes (valid even when the body is not). */
    static long headerId(byte[] frame) {
        return ((frame[4] & 0xffL) << 24) | ((frame[5] & 0xff) << 16) | ((frame[6] & 0xff) << 8) | (frame[7] & 0xff);
    }

    static MessageType type(JsonNode frame) {
        String wire = frame.get("type").asText();
        return MessageType.fromWire(wire).orElseThrow(() -> new AssertionError("fixture type " + wire));
    }

    /** The frame a valid/decodes fixture describes, built from its JSON fields. */
    static Frame expectedFrame(JsonNode frame) {
        MessageType type = type(frame);
        return new Frame(frame.get("id").asLong(), type, payload(type, frame.get("payload")));
    }

    /** The payload record for {@code type} from the fixture's JSON payload (every field present). */
    static Payload payload(MessageType type, JsonNode p) {
        return switch (type) {
            case CORE_READY -> new Ready(u64(p, "boot_time_ns"), u64(p, "init_time_ns"), u64(p, "ready_time_ns"),
                    p.has("agent_version") ? p.get("agent_version").asText() : "",
                    p.has("features") ? texts(p, "features") : List.of(),
                    p.has("grace_ms") ? u64(p, "grace_ms") : null, p.has("drain_ms") ? u64(p, "drain_ms") : null);
            case CORE_SHUTDOWN -> {
                if (!p.isNull()) {
                    throw new AssertionError("shutdown fixture payload must be null");
                }
                yield null;
            }
            case CORE_PING, CORE_PONG, CORE_TOUCH -> Empty.INSTANCE;
            case CORE_TOUCHED -> new Touched(u64(p, "activity_seq"));
            case CORE_CLOCK_SYNC -> new ClockSync(u64(p, "unix_time_nanos"));
            case CORE_ERROR -> new ErrorPayload(text(p, "kind"), text(p, "message"), text(p, "offending_type"));
            case EXEC_REQUEST -> new ExecRequest(text(p, "cmd"), texts(p, "args"), texts(p, "env"),
                    text(p, "cwd"), text(p, "user"), field(p, "tty").asBoolean(), field(p, "rows").asInt(),
                    field(p, "cols").asInt(), rlimits(p), p.has("timeout_ms") ? u64(p, "timeout_ms") : null,
                    p.has("stdin_window") && p.get("stdin_window").asBoolean(),
                    p.has("profile") ? text(p, "profile") : null, optionalU64(p, "memory_max"),
                    optionalU64(p, "pids_max"), p.has("detachable") && p.get("detachable").asBoolean(),
                    p.has("start_detached") && p.get("start_detached").asBoolean());
            case EXEC_STARTED -> new ExecStarted(field(p, "pid").asLong(), optionalU64(p, "session"));
            case EXEC_STDIN, EXEC_STDOUT, EXEC_STDERR ->
                    new ExecData(Base64.getDecoder().decode(field(field(p, "data"), "$bytes").asText()));
            case EXEC_STDIN_ERROR -> new ExecStdinError(i32(p, "errno"), text(p, "errno_name"), text(p, "message"));
            case EXEC_EXITED -> new ExecExited(field(p, "code").asInt(), p.has("signal") ? i32(p, "signal") : null,
                    p.has("timed_out") ? p.get("timed_out").asBoolean() : null,
                    new ResourceUsage(optionalU64(p, "cpu_user_us"), optionalU64(p, "cpu_system_us"),
                            optionalU64(p, "memory_peak_bytes"),
                            p.has("oom_killed") ? p.get("oom_killed").asBoolean() : null));
            case EXEC_FAILED -> new ExecFailed(text(p, "kind"), i32(p, "errno"), text(p, "errno_name"),
                    text(p, "message"), text(p, "stage"));
            case EXEC_RESIZE -> new ExecResize(field(p, "rows").asInt(), field(p, "cols").asInt());
            case EXEC_SIGNAL -> new ExecSignal(field(p, "signal").asInt());
            case EXEC_STDIN_CREDIT -> new ExecStdinCredit(u64(p, "bytes"));
            case CORE_RELAY_CLIENT_DISCONNECTED, CORE_RELAY_CLIENT_PAUSED, CORE_RELAY_CLIENT_RESUMED -> new RelayClientRange(u64(p, "id_start"),
                    u64(p, "id_end_exclusive"));
            case FS_REQUEST -> FsFixtures.request(p);
            case FS_DATA -> new ExecData(Base64.getDecoder().decode(field(field(p, "data"), "$bytes").asText()));
            case FS_RESPONSE -> FsFixtures.response(p);
            case FS_CREDIT -> new ExecStdinCredit(u64(p, "bytes"));
            // The sessions extension.
            case SESSION_LIST, SESSION_DETACH, CORE_RELAY_EXIT_DROPPED -> Empty.INSTANCE;
            case SESSION_DETACHED -> new SessionDetached(u64(p, "session"), u64(p, "offset"));
            case SESSION_LIST_RESULT -> {
                List<SessionInfo> sessions = new ArrayList<>();
                field(p, "sessions").forEach(s -> sessions.add(sessionInfo(s)));
                yield new SessionListResult(sessions, p.has("omitted") ? u64(p, "omitted") : 0);
            }
            case SESSION_ATTACH -> new SessionAttach(u64(p, "session"), field(p, "from").isNull() ? null : u64(p, "from"),
                    field(p, "stdin_window").asBoolean());
            case SESSION_ATTACHED -> new SessionAttached(u64(p, "session"), u64(p, "pid"), field(p, "tty").asBoolean(),
                    u64(p, "from"), u64(p, "missed"));
        };
    }

    private static SessionInfo sessionInfo(JsonNode s) {
        return new SessionInfo(u64(s, "session"), u64(s, "pid"), text(s, "cmd"), texts(s, "args"),
                field(s, "tty").asBoolean(), text(s, "user"), text(s, "state"), u64(s, "started_unix_ms"),
                i32(s, "exit_code"), i32(s, "signal"), u64(s, "bytes_out"), u64(s, "retained_start"),
                u64(s, "retained_end"), u64(s, "dropped"), field(s, "attached").asBoolean(),
                field(s, "detachable").asBoolean());
    }

    private static JsonNode field(JsonNode p, String name) {
        JsonNode value = p.get(name);
        if (value == null) {
            throw new AssertionError("fixture payload lacks " + name + ": " + p);
        }
        return value;
    }

    private static Long optionalU64(JsonNode p, String name) {
        return p.has(name) ? u64(p, name) : null;
    }

    private static long u64(JsonNode p, String name) {
        return field(p, name).bigIntegerValue().longValue();
    }

    private static String text(JsonNode p, String name) {
        JsonNode value = field(p, name);
        return value.isNull() ? null : value.asText();
    }

    private static Integer i32(JsonNode p, String name) {
        JsonNode value = field(p, name);
        return value.isNull() ? null : value.asInt();
    }

    private static List<String> texts(JsonNode p, String name) {
        List<String> items = new ArrayList<>();
        field(p, name).forEach(item -> items.add(item.asText()));
        return items;
    }

    private static List<Rlimit> rlimits(JsonNode p) {
        List<Rlimit> limits = new ArrayList<>();
        field(p, "rlimits").forEach(l -> limits.add(new Rlimit(text(l, "resource"), u64(l, "soft"), u64(l, "hard"))));
        return limits;
    }

    private static List<JsonNode> load(String resource) {
        try (InputStream in = Fixtures.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new AssertionError(resource + " missing from the test resources");
            }
            List<JsonNode> frames = new ArrayList<>();
            new ObjectMapper().readTree(in).get("frames").forEach(frames::add);
            return List.copyOf(frames);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
