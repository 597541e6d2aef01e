package io.agentd.protocol;

import com.fasterxml.jackson.core.JsonToken;
import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the payloads of the sessions extension (docs/PROTOCOL-EXTENSIONS.md, "Sessions"), with the
 * same tolerance as {@link PayloadDecoding}. The list's arrays are bounded ({@link #SESSIONS_MAX_ENTRIES},
 * {@link ExecLimits#ARGS_MAX_ENTRIES} per session): a definite-length array over its bound is refused
 * from its head, before any entry is built; an indefinite one at the first entry past it.
 */
final class SessionPayloadDecoding {
    /** Most sessions a list result may hold (a 4 MiB frame holds far fewer real ones). */
    static final int SESSIONS_MAX_ENTRIES = 65_536;

    private SessionPayloadDecoding() {}

    static Payload decode(MessageType type, CborReader r) throws ProtocolException {
        return switch (type) {
            case SESSION_LIST_RESULT -> listResult(r);
            case SESSION_ATTACH -> attach(r);
            case SESSION_ATTACHED -> attached(r);
            case SESSION_DETACHED -> detached(r);
            default -> throw new IllegalArgumentException(type + " is not a sessions message");
        };
    }

    private static SessionAttach attach(CborReader r) throws ProtocolException {
        Long session = null;
        Long from = null;
        Boolean stdinWindow = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "session" -> session = r.u64(key);
                case "from" -> from = r.u64OrNull(key);
                case "stdin_window" -> stdinWindow = r.boolOrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new SessionAttach(r.required("session", session), from, stdinWindow != null && stdinWindow);
    }

    private static SessionAttached attached(CborReader r) throws ProtocolException {
        Long session = null;
        Long pid = null;
        Boolean tty = null;
        Long from = null;
        Long missed = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "session" -> session = r.u64(key);
                case "pid" -> pid = r.u32(key);
                case "tty" -> tty = r.boolOrNull(key);
                case "from" -> from = r.u64(key);
                case "missed" -> missed = r.u64OrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new SessionAttached(r.required("session", session), r.required("pid", pid), tty != null && tty,
                r.required("from", from), missed == null ? 0 : missed);
    }

    private static SessionDetached detached(CborReader r) throws ProtocolException {
        Long session = null;
        Long offset = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "session" -> session = r.u64(key);
                case "offset" -> offset = r.u64(key);
                default -> r.skipValue(key);
            }
        }
        return new SessionDetached(r.required("session", session), r.required("offset", offset));
    }

    private static SessionListResult listResult(CborReader r) throws ProtocolException {
        List<SessionInfo> sessions = null;
        Long omitted = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "sessions" -> sessions = sessions(r);
                case "omitted" -> omitted = r.u64OrNull(key);
                default -> r.skipValue(key);
            }
        }
        if (omitted != null && omitted < 0) {
            throw r.invalid("omitted " + Long.toUnsignedString(omitted) + " is past 2^63-1");
        }
        return new SessionListResult(r.required("sessions", sessions), omitted == null ? 0 : omitted);
    }

    private static List<SessionInfo> sessions(CborReader r) throws ProtocolException {
        JsonToken token = r.nextBoundedArray("sessions", SESSIONS_MAX_ENTRIES, ErrorKind.INVALID_PAYLOAD);
        if (token != JsonToken.START_ARRAY) {
            throw r.expected("sessions", "an array of maps", token);
        }
        List<SessionInfo> sessions = new ArrayList<>();
        while ((token = r.next("sessions")) != JsonToken.END_ARRAY) {
            r.checkCount("sessions", sessions.size() + 1, SESSIONS_MAX_ENTRIES, ErrorKind.INVALID_PAYLOAD);
            String at = "sessions[" + sessions.size() + "]";
            r.beginMap(at, token);
            sessions.add(info(r, at));
        }
        return sessions;
    }

    private static SessionInfo info(CborReader r, String at) throws ProtocolException {
        Long session = null;
        Long pid = null;
        String cmd = null;
        List<String> args = List.of();
        Boolean tty = null;
        String user = null;
        String state = null;
        Long started = null;
        Integer exitCode = null;
        Integer signal = null;
        Long bytesOut = null;
        Long retainedStart = null;
        Long retainedEnd = null;
        Long dropped = null;
        Boolean attached = null;
        Boolean detachable = null;
        for (String key; (key = r.nextKey(at)) != null; ) {
            switch (key) {
                case "session" -> session = r.u64(at + ".session");
                case "pid" -> pid = r.u32(at + ".pid");
                case "cmd" -> cmd = r.text(at + ".cmd");
                case "args" -> args = args(r, at + ".args");
                case "tty" -> tty = r.boolOrNull(at + ".tty");
                case "user" -> user = r.textOrNull(at + ".user");
                case "state" -> state = r.text(at + ".state");
                case "started_unix_ms" -> started = r.u64(at + ".started_unix_ms");
                case "exit_code" -> exitCode = r.i32OrNull(at + ".exit_code");
                case "signal" -> signal = r.i32OrNull(at + ".signal");
                case "bytes_out" -> bytesOut = r.u64(at + ".bytes_out");
                case "retained_start" -> retainedStart = r.u64(at + ".retained_start");
                case "retained_end" -> retainedEnd = r.u64(at + ".retained_end");
                case "dropped" -> dropped = r.u64OrNull(at + ".dropped");
                case "attached" -> attached = r.boolOrNull(at + ".attached");
                case "detachable" -> detachable = r.boolOrNull(at + ".detachable");
                default -> r.skipValue(at, key);
            }
        }
        return new SessionInfo(r.required(at + ".session", session), r.required(at + ".pid", pid),
                r.required(at + ".cmd", cmd), args, tty != null && tty, user, r.required(at + ".state", state),
                r.required(at + ".started_unix_ms", started), exitCode, signal, r.required(at + ".bytes_out", bytesOut),
                r.required(at + ".retained_start", retainedStart), r.required(at + ".retained_end", retainedEnd),
                dropped == null ? 0 : dropped, attached != null && attached, detachable != null && detachable);
    }

    /** An array of text (null for []) of at most {@link ExecLimits#ARGS_MAX_ENTRIES}. */
    private static List<String> args(CborReader r, String field) throws ProtocolException {
        JsonToken token = r.nextBoundedArray(field, ExecLimits.ARGS_MAX_ENTRIES, ErrorKind.INVALID_PAYLOAD);
        if (token == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (token != JsonToken.START_ARRAY) {
            throw r.expected(field, "an array of text", token);
        }
        List<String> items = new ArrayList<>();
        while ((token = r.next(field)) != JsonToken.END_ARRAY) {
            String item = field + "[" + items.size() + "]";
            r.checkCount(field, items.size() + 1, ExecLimits.ARGS_MAX_ENTRIES, ErrorKind.INVALID_PAYLOAD);
            if (token != JsonToken.VALUE_STRING) {
                throw r.expected(item, "text", token);
            }
            items.add(r.textValue(item));
        }
        return items;
    }
}
