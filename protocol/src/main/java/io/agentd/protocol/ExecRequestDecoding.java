package io.agentd.protocol;

import com.fasterxml.jackson.core.JsonToken;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Rlimit;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a core.exec.request payload within {@link ExecLimits}. Every size is known before the thing
 * it measures is built: a string's length from its CBOR head (Jackson decodes a text only when asked
 * for it), an array's entry count from its head or, for an indefinite length, as its entries are
 * read. The first limit passed refuses the request at once ({@link ErrorKind#LIMIT_EXCEEDED}), so a
 * request of millions of strings builds at most the strings the limits allow.
 */
final class ExecRequestDecoding {
    /** How much of an over-long text the refusal shows. */

    private final CborReader r;
    /** cmd + args + env so far, each string counted as exec counts it. */
    private long argEnvBytes;

    private ExecRequestDecoding(CborReader r) {
        this.r = r;
    }

    static ExecRequest decode(CborReader r) throws ProtocolException {
        return new ExecRequestDecoding(r).request();
    }

    private ExecRequest request() throws ProtocolException {
        String cmd = null;
        List<String> args = List.of();
        List<String> env = List.of();
        String cwd = null;
        String user = null;
        Boolean tty = null;
        Integer rows = null;
        Integer cols = null;
        List<Rlimit> rlimits = List.of();
        Long timeoutMs = null;
        Boolean stdinWindow = null;
        String profile = null;
        Long memoryMax = null;
        Long pidsMax = null;
        Boolean detachable = null;
        Boolean startDetached = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "cmd" -> cmd = boundedText(key, false, ExecLimits.CMD_MAX_BYTES, true);
                case "args" -> args = argEnvList(key, ExecLimits.ARGS_MAX_ENTRIES);
                case "env" -> env = argEnvList(key, ExecLimits.ENV_MAX_ENTRIES);
                case "cwd" -> cwd = boundedText(key, true, ExecLimits.CWD_MAX_BYTES, false);
                case "user" -> user = boundedText(key, true, ExecLimits.USER_MAX_BYTES, false);
                case "tty" -> tty = r.boolOrNull(key);
                case "rows" -> rows = r.u16OrNull(key);
                case "cols" -> cols = r.u16OrNull(key);
                case "rlimits" -> rlimits = rlimits();
                case "timeout_ms" -> timeoutMs = r.u64OrNull(key);
                case "stdin_window" -> stdinWindow = r.boolOrNull(key);
                case "profile" -> profile = boundedText(key, true, ExecLimits.PROFILE_MAX_BYTES, false);
                case "memory_max" -> memoryMax = r.u64OrNull(key);
                case "pids_max" -> pidsMax = r.u64OrNull(key);
                case "detachable" -> detachable = r.boolOrNull(key);
                case "start_detached" -> startDetached = r.boolOrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new ExecRequest(r.required("cmd", cmd), args, env, cwd, user, tty != null && tty,
                rows == null ? ExecRequest.DEFAULT_ROWS : rows, cols == null ? ExecRequest.DEFAULT_COLS : cols,
                rlimits, timeoutMs, stdinWindow != null && stdinWindow, profile, memoryMax, pidsMax,
                detachable != null && detachable, startDetached != null && startDetached);
    }

    /** A text field of at most {@code maxBytes}; {@code argEnv} when it counts towards ARG_MAX. */
    private String boundedText(String field, boolean nullable, int maxBytes, boolean argEnv)
            throws ProtocolException {
        long bytes = r.boundedTextHead(field, nullable, maxBytes);
        if (bytes < 0) {
            return null;
        }
        if (argEnv) {
            chargeArgEnv(field, bytes);
        }
        return r.textValue(field);
    }

    /** args or env: an array of text (null for []) of at most {@code maxEntries}, charged to ARG_MAX. */
    private List<String> argEnvList(String field, int maxEntries) throws ProtocolException {
        JsonToken token = r.nextBoundedArray(field, maxEntries, ErrorKind.LIMIT_EXCEEDED);
        if (token == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (token != JsonToken.START_ARRAY) {
            throw r.expected(field, "an array of text", token);
        }
        List<String> items = new ArrayList<>();
        while ((token = r.next(field)) != JsonToken.END_ARRAY) {
            String at = field + "[" + items.size() + "]";
            r.checkCount(field, items.size() + 1, maxEntries, ErrorKind.LIMIT_EXCEEDED);
            if (token != JsonToken.VALUE_STRING) {
                throw r.expected(at, "text", token);
            }
            chargeArgEnv(at, r.textBytes(at));
            items.add(r.textValue(at));
        }
        return items;
    }

    /** rlimits: an array of {resource, soft, hard}, all required; null stands for []. */
    private List<Rlimit> rlimits() throws ProtocolException {
        JsonToken token = r.nextBoundedArray("rlimits", ExecLimits.RLIMITS_MAX_ENTRIES, ErrorKind.LIMIT_EXCEEDED);
        if (token == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (token != JsonToken.START_ARRAY) {
            throw r.invalid("rlimits: expected an array of maps");
        }
        List<Rlimit> limits = new ArrayList<>();
        while ((token = r.next("rlimits")) != JsonToken.END_ARRAY) {
            r.checkCount("rlimits", limits.size() + 1, ExecLimits.RLIMITS_MAX_ENTRIES, ErrorKind.LIMIT_EXCEEDED);
            String at = "rlimits[" + limits.size() + "]";
            r.beginMap(at, token);
            String resource = null;
            Long soft = null;
            Long hard = null;
            for (String key; (key = r.nextKey(at)) != null; ) {
                switch (key) {
                    case "resource" -> resource = r.text(at + ".resource");
                    case "soft" -> soft = r.u64(at + ".soft");
                    case "hard" -> hard = r.u64(at + ".hard");
                    default -> r.skipValue(at, key);
                }
            }
            limits.add(new Rlimit(r.required(at + ".resource", resource), r.required(at + ".soft", soft),
                    r.required(at + ".hard", hard)));
        }
        return limits;
    }

    private void chargeArgEnv(String field, long bytes) throws ProtocolException {
        argEnvBytes += ExecLimits.argEnvCost(bytes);
        if (argEnvBytes > ExecLimits.ARG_ENV_MAX_BYTES) {
            throw r.limitExceeded("cmd + args + env: more than the limit of " + ExecLimits.ARG_ENV_MAX_BYTES
                    + " bytes (each string counted as its bytes + 1 + 8, as the kernel counts ARG_MAX), passed at "
                    + field);
        }
    }
}
