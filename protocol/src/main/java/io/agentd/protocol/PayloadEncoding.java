package io.agentd.protocol;

import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.RelayClientRange;
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
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.Payloads;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.ResourceUsage;
import io.agentd.protocol.payload.Rlimit;
import io.agentd.protocol.payload.Touched;
import java.util.List;

/**
 * Writes each payload record as the reference encoding: keys in PROTOCOL.md order, absent core
 * options as null, extension fields (timeout_ms, stdin_window, profile, signal, timed_out, features,
 * grace_ms, drain_ms) omitted when absent.
 * A record that cannot be put on the wire (wrong record for the type, missing required value, value
 * out of range) is a programming error of the caller: IllegalArgumentException.
 */
final class PayloadEncoding {
    private static final int U16_MAX = 0xFFFF;
    static final long U32_MAX = 0xFFFF_FFFFL;

    private PayloadEncoding() {}

    /** Checks that {@code payload} is the record {@code type} carries (null for core.shutdown). */
    static void checkRecord(MessageType type, Payload payload) {
        Class<? extends Payload> expected = Payloads.recordFor(type);
        if (expected == null ? payload != null : !expected.isInstance(payload)) {
            throw new IllegalArgumentException(type + " carries " + (expected == null ? "a null payload"
                    : expected.getSimpleName()) + ", not " + (payload == null ? "null" : payload.getClass().getSimpleName()));
        }
    }

    static void write(MessageType type, Payload payload, CborWriter w) {
        checkRecord(type, payload);
        switch (type) {
            case CORE_READY -> ready((Ready) payload, w);
            case CORE_SHUTDOWN -> w.nul();
            case CORE_PING, CORE_PONG, CORE_TOUCH -> w.map(0);
            case CORE_TOUCHED -> {
                w.map(1);
                w.text("activity_seq");
                w.u64(((Touched) payload).activitySeq());
            }
            case CORE_RELAY_CLIENT_DISCONNECTED, CORE_RELAY_CLIENT_PAUSED, CORE_RELAY_CLIENT_RESUMED -> {
                RelayClientRange d = (RelayClientRange) payload;
                w.map(2);
                w.text("id_start");
                w.u64(inRange("id_start", d.idStart(), 0, U32_MAX));
                w.text("id_end_exclusive");
                w.u64(inRange("id_end_exclusive", d.idEndExclusive(), 0, U32_MAX));
            }
            case CORE_CLOCK_SYNC -> {
                w.map(1);
                w.text("unix_time_nanos");
                w.u64(((ClockSync) payload).unixTimeNanos());
            }
            case CORE_ERROR -> error((ErrorPayload) payload, w);
            case EXEC_REQUEST -> request((ExecRequest) payload, w);
            case EXEC_STARTED -> {
                ExecStarted started = (ExecStarted) payload;
                w.map(started.session() == null ? 1 : 2);
                w.text("pid");
                w.u64(inRange("pid", started.pid(), 0, U32_MAX));
                u64IfKnown("session", started.session(), w);
            }
            case EXEC_STDIN, EXEC_STDOUT, EXEC_STDERR, FS_DATA -> {
                byte[] data = ((ExecData) payload).data();
                w.map(1);
                w.text("data");
                w.bytes(data, 0, data.length);
            }
            case EXEC_STDIN_ERROR -> stdinError((ExecStdinError) payload, w);
            case EXEC_EXITED -> exited((ExecExited) payload, w);
            case EXEC_FAILED -> failed((ExecFailed) payload, w);
            case EXEC_RESIZE -> {
                ExecResize r = (ExecResize) payload;
                w.map(2);
                w.text("rows");
                w.u64(inRange("rows", r.rows(), 0, U16_MAX));
                w.text("cols");
                w.u64(inRange("cols", r.cols(), 0, U16_MAX));
            }
            case EXEC_SIGNAL -> {
                w.map(1);
                w.text("signal");
                w.signed(((ExecSignal) payload).signal());
            }
            case EXEC_STDIN_CREDIT, FS_CREDIT -> {
                w.map(1);
                w.text("bytes");
                w.u64(((ExecStdinCredit) payload).bytes());
            }
            case FS_REQUEST -> FsPayloadEncoding.request((FsRequest) payload, w);
            case FS_RESPONSE -> FsPayloadEncoding.response((FsResponse) payload, w);
            case SESSION_LIST, SESSION_DETACH, CORE_RELAY_EXIT_DROPPED -> w.map(0);
            case SESSION_LIST_RESULT, SESSION_ATTACH, SESSION_ATTACHED, SESSION_DETACHED -> SessionPayloadEncoding.write(type, payload, w);
        }
    }

    private static void ready(Ready r, CborWriter w) {
        boolean hasVersion = r.agentVersion() != null && !r.agentVersion().isEmpty();
        boolean hasFeatures = !r.features().isEmpty();
        w.map(3 + (hasVersion ? 1 : 0) + (hasFeatures ? 1 : 0) + (r.graceMs() != null ? 1 : 0)
                + (r.drainMs() != null ? 1 : 0));
        w.text("boot_time_ns");
        w.u64(r.bootTimeNs());
        w.text("init_time_ns");
        w.u64(r.initTimeNs());
        w.text("ready_time_ns");
        w.u64(r.readyTimeNs());
        if (hasVersion) {
            w.text("agent_version");
            w.text(r.agentVersion());
        }
        if (hasFeatures) {
            w.text("features");
            textList(r.features(), w);
        }
        if (r.graceMs() != null) {
            w.text("grace_ms");
            w.u64(r.graceMs());
        }
        if (r.drainMs() != null) {
            w.text("drain_ms");
            w.u64(r.drainMs());
        }
    }

    private static void error(ErrorPayload e, CborWriter w) {
        w.map(3);
        w.text("kind");
        w.text(required("kind", e.kind()));
        w.text("message");
        w.text(required("message", e.message()));
        w.text("offending_type");
        w.textOrNull(e.offendingType());
    }

    private static void request(ExecRequest r, CborWriter w) {
        w.map(9 + (r.timeoutMs() == null ? 0 : 1) + (r.stdinWindow() ? 1 : 0) + (r.profile() == null ? 0 : 1)
                + (r.memoryMax() == null ? 0 : 1) + (r.pidsMax() == null ? 0 : 1) + (r.detachable() ? 1 : 0)
                + (r.startDetached() ? 1 : 0));
        w.text("cmd");
        w.text(required("cmd", r.cmd()));
        w.text("args");
        textList(r.args(), w);
        w.text("env");
        textList(r.env(), w);
        w.text("cwd");
        w.textOrNull(r.cwd());
        w.text("user");
        w.textOrNull(r.user());
        w.text("tty");
        w.bool(r.tty());
        w.text("rows");
        w.u64(inRange("rows", r.rows(), 0, U16_MAX));
        w.text("cols");
        w.u64(inRange("cols", r.cols(), 0, U16_MAX));
        w.text("rlimits");
        w.array(r.rlimits().size());
        for (Rlimit limit : r.rlimits()) {
            w.map(3);
            w.text("resource");
            w.text(required("rlimits[].resource", limit.resource()));
            w.text("soft");
            w.u64(limit.soft());
            w.text("hard");
            w.u64(limit.hard());
        }
        u64IfKnown("timeout_ms", r.timeoutMs(), w);
        if (r.stdinWindow()) {
            w.text("stdin_window");
            w.bool(true);
        }
        if (r.profile() != null) {
            w.text("profile");
            w.text(r.profile());
        }
        u64IfKnown("memory_max", r.memoryMax(), w);
        u64IfKnown("pids_max", r.pidsMax(), w);
        if (r.detachable()) {
            w.text("detachable");
            w.bool(true);
        }
        if (r.startDetached()) {
            w.text("start_detached");
            w.bool(true);
        }
    }

    private static void stdinError(ExecStdinError e, CborWriter w) {
        w.map(3);
        w.text("errno");
        signedOrNull(e.errno(), w);
        w.text("errno_name");
        w.textOrNull(e.errnoName());
        w.text("message");
        w.text(required("message", e.message()));
    }

    private static void exited(ExecExited e, CborWriter w) {
        ResourceUsage u = e.usage();
        w.map(1 + (e.signal() == null ? 0 : 1) + (e.timedOut() == null ? 0 : 1) + u.known());
        w.text("code");
        w.signed(e.code());
        if (e.signal() != null) {
            w.text("signal");
            w.signed(e.signal());
        }
        if (e.timedOut() != null) {
            w.text("timed_out");
            w.bool(e.timedOut());
        }
        u64IfKnown("cpu_user_us", u.cpuUserUs(), w);
        u64IfKnown("cpu_system_us", u.cpuSystemUs(), w);
        u64IfKnown("memory_peak_bytes", u.memoryPeakBytes(), w);
        if (u.oomKilled() != null) {
            w.text("oom_killed");
            w.bool(u.oomKilled());
        }
    }

    static void u64IfKnown(String field, Long value, CborWriter w) {
        if (value != null) {
            w.text(field);
            w.u64(value);
        }
    }

    private static void failed(ExecFailed f, CborWriter w) {
        w.map(5);
        w.text("kind");
        w.text(required("kind", f.kind()));
        w.text("errno");
        signedOrNull(f.errno(), w);
        w.text("errno_name");
        w.textOrNull(f.errnoName());
        w.text("message");
        w.text(required("message", f.message()));
        w.text("stage");
        w.textOrNull(f.stage());
    }

    static void textList(List<String> items, CborWriter w) {
        w.array(items.size());
        for (String item : items) {
            w.text(item);
        }
    }

    static void signedOrNull(Integer value, CborWriter w) {
        if (value == null) {
            w.nul();
        } else {
            w.signed(value);
        }
    }

    static String required(String field, String value) {
        if (value == null) {
            throw new IllegalArgumentException(field + " is required");
        }
        return value;
    }

    static long inRange(String field, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(field + " " + value + " is outside " + min + ".." + max);
        }
        return value;
    }
}
