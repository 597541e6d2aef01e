package io.agentd.agent.e2e;

import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecStdinError;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** One session as the host saw it: started pid (or -1), output, and its terminal frame. */
record SessionResult(long id, long pid, byte[] stdout, byte[] stderr, ExecExited exited, ExecFailed failed,
        List<ExecStdinError> stdinErrors) {

    String out() {
        return new String(stdout, StandardCharsets.UTF_8);
    }

    String err() {
        return new String(stderr, StandardCharsets.UTF_8);
    }

    int code() {
        if (exited == null) {
            throw new AssertionError("session " + id + " did not exit: failed " + failed);
        }
        return exited.code();
    }
}
