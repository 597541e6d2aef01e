package io.agentd.protocol;

import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ResourceUsage;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.RelayClientRange;
import io.agentd.protocol.payload.Touched;
import java.io.IOException;
import java.util.List;

/**
 * Reads the payload of each message type from the bytes of p. Tolerant where PROTOCOL.md says so
 * (any key order, unknown keys skipped, missing or null optional fields defaulted); everything else
 * that does not fit the table is invalid_payload with a message naming the field.
 */
final class PayloadDecoding {
    private PayloadDecoding() {}

    /** The payload record of {@code type} held in {@code p}; null for core.shutdown. */
    static Payload decode(MessageType type, long id, byte[] p) throws ProtocolException {
        try (OffsetCborParser parser = OffsetCborParser.FACTORY.parser(p)) {
            CborReader r = new CborReader(p, parser, id, type);
            Payload payload = switch (type) {
                case CORE_READY -> ready(r);
                case CORE_SHUTDOWN -> {
                    r.nullOrMap();
                    yield null;
                }
                case CORE_PING, CORE_PONG, CORE_TOUCH -> empty(r);
                case CORE_TOUCHED -> new Touched(singleU64(r, "activity_seq"));
                case CORE_CLOCK_SYNC -> new ClockSync(singleU64(r, "unix_time_nanos"));
                case CORE_ERROR -> error(r);
                case EXEC_REQUEST -> ExecRequestDecoding.decode(r);
                case EXEC_STARTED -> started(r);
                case EXEC_STDIN, EXEC_STDOUT, EXEC_STDERR -> data(r);
                case EXEC_STDIN_ERROR -> stdinError(r);
                case EXEC_EXITED -> exited(r);
                case EXEC_FAILED -> failed(r);
                case EXEC_RESIZE -> resize(r);
                case EXEC_SIGNAL -> signal(r);
                case EXEC_STDIN_CREDIT -> new ExecStdinCredit(singleU64(r, "bytes"));
                case CORE_RELAY_CLIENT_DISCONNECTED, CORE_RELAY_CLIENT_PAUSED, CORE_RELAY_CLIENT_RESUMED -> relayClientRange(r);
                case FS_REQUEST -> FsPayloadDecoding.request(r);
                case FS_DATA -> data(r);
                case FS_RESPONSE -> FsPayloadDecoding.response(r);
                case FS_CREDIT -> new ExecStdinCredit(singleU64(r, "bytes"));
                case SESSION_LIST, SESSION_DETACH, CORE_RELAY_EXIT_DROPPED -> empty(r);
                case SESSION_LIST_RESULT, SESSION_ATTACH, SESSION_ATTACHED, SESSION_DETACHED -> SessionPayloadDecoding.decode(type, r);
            };
            r.expectEnd();
            return payload;
        } catch (IOException e) {
            throw CborReader.invalid(id, type, "unreadable payload: " + e.getMessage());
        } catch (RuntimeException e) {
            // Jackson should only throw IOExceptions on bad input; this keeps a parser bug from
            // killing the connection. The fuzz test asserts it never fires.
            throw new ProtocolException(ErrorKind.INVALID_PAYLOAD, id, type.wire(),
                    type.wire() + ": unreadable payload (" + e + ")", e);
        }
    }

    private static Ready ready(CborReader r) throws ProtocolException {
        Long boot = null;
        Long init = null;
        Long ready = null;
        String version = null;
        List<String> features = List.of();
        Long graceMs = null;
        Long drainMs = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "boot_time_ns" -> boot = r.u64(key);
                case "init_time_ns" -> init = r.u64(key);
                case "ready_time_ns" -> ready = r.u64(key);
                case "agent_version" -> version = r.textOrNull(key);
                case "features" -> features = r.textList(key, Ready.FEATURES_MAX_ENTRIES);
                case "grace_ms" -> graceMs = r.u64(key);
                case "drain_ms" -> drainMs = r.u64(key);
                default -> r.skipValue(key);
            }
        }
        return new Ready(r.required("boot_time_ns", boot), r.required("init_time_ns", init),
                r.required("ready_time_ns", ready), version == null ? "" : version, features, graceMs, drainMs);
    }

    private static RelayClientRange relayClientRange(CborReader r) throws ProtocolException {
        Long start = null;
        Long end = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "id_start" -> start = r.u64(key);
                case "id_end_exclusive" -> end = r.u64(key);
                default -> r.skipValue(key);
            }
        }
        long idStart = u32Id(r, "id_start", start);
        long idEnd = u32Id(r, "id_end_exclusive", end);
        if (idStart > idEnd) {
            // Refused here, as the record's ids are in order; [N, N) is the agent's to refuse, in the same words.
            throw r.invalid(RelayClientRange.namesNoIds(idStart, idEnd));
        }
        return new RelayClientRange(idStart, idEnd);
    }

    /** The required id {@code field} of a relay notice, read as a u64 ({@code id}): at most the largest u32. */
    private static long u32Id(CborReader r, String field, Long id) throws ProtocolException {
        long value = r.required(field, id);
        if (Long.compareUnsigned(value, RelayClientRange.U32_MAX) > 0) {
            throw r.invalid(field + " " + Long.toUnsignedString(value) + " is past the largest u32 id, "
                    + RelayClientRange.U32_MAX);
        }
        return value;
    }

    private static Empty empty(CborReader r) throws ProtocolException {
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            r.skipValue(key);
        }
        return Empty.INSTANCE;
    }

    /** A payload whose only field is one required u64. */
    private static long singleU64(CborReader r, String field) throws ProtocolException {
        Long value = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            if (key.equals(field)) {
                value = r.u64(key);
            } else {
                r.skipValue(key);
            }
        }
        return r.required(field, value);
    }

    private static ErrorPayload error(CborReader r) throws ProtocolException {
        String kind = null;
        String message = null;
        String offendingType = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "kind" -> kind = r.text(key);
                case "message" -> message = r.text(key);
                case "offending_type" -> offendingType = r.textOrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new ErrorPayload(r.required("kind", kind), r.required("message", message), offendingType);
    }

    private static ExecStarted started(CborReader r) throws ProtocolException {
        Long pid = null;
        Long session = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "pid" -> pid = r.u32(key);
                case "session" -> session = r.u64OrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new ExecStarted(r.required("pid", pid), session);
    }

    private static ExecData data(CborReader r) throws ProtocolException {
        byte[] data = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            if (key.equals("data")) {
                data = r.bytes(key);
            } else {
                r.skipValue(key);
            }
        }
        return new ExecData(r.required("data", data));
    }

    private static ExecStdinError stdinError(CborReader r) throws ProtocolException {
        Integer errno = null;
        String errnoName = null;
        String message = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "errno" -> errno = r.i32OrNull(key);
                case "errno_name" -> errnoName = r.textOrNull(key);
                case "message" -> message = r.text(key);
                default -> r.skipValue(key);
            }
        }
        return new ExecStdinError(errno, errnoName, r.required("message", message));
    }

    private static ExecExited exited(CborReader r) throws ProtocolException {
        Integer code = null;
        Integer signal = null;
        Boolean timedOut = null;
        Long cpuUser = null;
        Long cpuSystem = null;
        Long memoryPeak = null;
        Boolean oomKilled = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "code" -> code = r.i32(key);
                case "signal" -> signal = r.i32OrNull(key);
                case "timed_out" -> timedOut = r.boolOrNull(key);
                case "cpu_user_us" -> cpuUser = r.u64OrNull(key);
                case "cpu_system_us" -> cpuSystem = r.u64OrNull(key);
                case "memory_peak_bytes" -> memoryPeak = r.u64OrNull(key);
                case "oom_killed" -> oomKilled = r.boolOrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new ExecExited(r.required("code", code), signal, timedOut,
                new ResourceUsage(cpuUser, cpuSystem, memoryPeak, oomKilled));
    }

    private static ExecFailed failed(CborReader r) throws ProtocolException {
        String kind = null;
        Integer errno = null;
        String errnoName = null;
        String message = null;
        String stage = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "kind" -> kind = r.text(key);
                case "errno" -> errno = r.i32OrNull(key);
                case "errno_name" -> errnoName = r.textOrNull(key);
                case "message" -> message = r.text(key);
                case "stage" -> stage = r.textOrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new ExecFailed(r.required("kind", kind), errno, errnoName, r.required("message", message), stage);
    }

    private static ExecResize resize(CborReader r) throws ProtocolException {
        Integer rows = null;
        Integer cols = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "rows" -> rows = r.u16(key);
                case "cols" -> cols = r.u16(key);
                default -> r.skipValue(key);
            }
        }
        return new ExecResize(r.required("rows", rows), r.required("cols", cols));
    }

    private static ExecSignal signal(CborReader r) throws ProtocolException {
        Integer signal = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            if (key.equals("signal")) {
                signal = r.i32(key);
            } else {
                r.skipValue(key);
            }
        }
        return new ExecSignal(r.required("signal", signal));
    }
}
