package io.agentd.agent.e2e;

import io.agentd.protocol.payload.ExecRequest;
import java.util.List;

/** Exec requests the tests send. */
final class Requests {
    private Requests() {}

    static ExecRequest sh(String script) {
        return ExecRequest.of("sh", "-c", script);
    }

    static ExecRequest withTimeout(ExecRequest r, long timeoutMs) {
        return new ExecRequest(r.cmd(), r.args(), r.env(), r.cwd(), r.user(), r.tty(), r.rows(), r.cols(),
                r.rlimits(), timeoutMs);
    }

    static ExecRequest tty(String cmd, String... args) {
        return new ExecRequest(cmd, List.of(args), List.of(), null, null, true, 24, 80, List.of(), null);
    }
}
