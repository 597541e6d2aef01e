package io.agentd.protocol;

import io.agentd.protocol.payload.Payload;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionDetached;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;

/**
 * Writes the payloads of the sessions extension in the key order of docs/PROTOCOL-EXTENSIONS.md
 * ("Sessions"). These messages are new, so every field is written, nulls included.
 */
final class SessionPayloadEncoding {
    private SessionPayloadEncoding() {}

    static void write(MessageType type, Payload payload, CborWriter w) {
        switch (type) {
            case SESSION_LIST_RESULT -> listResult((SessionListResult) payload, w);
            case SESSION_ATTACH -> {
                SessionAttach a = (SessionAttach) payload;
                w.map(3);
                w.text("session");
                w.u64(a.session());
                w.text("from");
                if (a.from() == null) {
                    w.nul();
                } else {
                    w.u64(a.from());
                }
                w.text("stdin_window");
                w.bool(a.stdinWindow());
            }
            case SESSION_ATTACHED -> {
                SessionAttached a = (SessionAttached) payload;
                w.map(5);
                w.text("session");
                w.u64(a.session());
                w.text("pid");
                w.u64(PayloadEncoding.inRange("pid", a.pid(), 0, PayloadEncoding.U32_MAX));
                w.text("tty");
                w.bool(a.tty());
                w.text("from");
                w.u64(a.from());
                w.text("missed");
                w.u64(a.missed());
            }
            case SESSION_DETACHED -> {
                SessionDetached d = (SessionDetached) payload;
                w.map(2);
                w.text("session");
                w.u64(d.session());
                w.text("offset");
                w.u64(d.offset());
            }
            default -> throw new IllegalArgumentException(type + " is not a sessions message");
        }
    }

    private static void listResult(SessionListResult result, CborWriter w) {
        w.map(result.omitted() > 0 ? 2 : 1); // omitted only when some are: an old host's frame unchanged
        w.text("sessions");
        w.array(result.sessions().size());
        for (SessionInfo s : result.sessions()) {
            w.map(16);
            w.text("session");
            w.u64(s.session());
            w.text("pid");
            w.u64(PayloadEncoding.inRange("pid", s.pid(), 0, PayloadEncoding.U32_MAX));
            w.text("cmd");
            w.text(PayloadEncoding.required("cmd", s.cmd()));
            w.text("args");
            PayloadEncoding.textList(s.args(), w);
            w.text("tty");
            w.bool(s.tty());
            w.text("user");
            w.textOrNull(s.user());
            w.text("state");
            w.text(PayloadEncoding.required("state", s.state()));
            w.text("started_unix_ms");
            w.u64(s.startedUnixMs());
            w.text("exit_code");
            PayloadEncoding.signedOrNull(s.exitCode(), w);
            w.text("signal");
            PayloadEncoding.signedOrNull(s.signal(), w);
            w.text("bytes_out");
            w.u64(s.bytesOut());
            w.text("retained_start");
            w.u64(s.retainedStart());
            w.text("retained_end");
            w.u64(s.retainedEnd());
            w.text("dropped");
            w.u64(s.dropped());
            w.text("attached");
            w.bool(s.attached());
            w.text("detachable");
            w.bool(s.detachable());
        }
        if (result.omitted() > 0) {
            w.text("omitted");
            w.u64(result.omitted());
        }
    }
}
