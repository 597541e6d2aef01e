package io.agentd.agent.session;

import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.SessionListResult;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The answer to core.session.list (sessions extension): every session of the agent, of every
 * connection, from the {@link SessionDirectory}, cut to fit one frame, or less while the hosts'
 * output queues are full. Loop thread only.
 */
final class SessionListing {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before
    /** The most a session list answer takes while the host's or the agent's output queues are full. */
    static final int LIST_UNDER_PRESSURE_BYTES = 64 * 1024;

    private final SessionTable table;
    private final SharedParts parts;
    /** A host that lists again and again past the frame gets a line a minute. */
    private final LogThrottle cutListLog;
    /** Whether every host's output queues together are past the agent's budget. */
    private BooleanSupplier outputOverBudget = () -> false;

    SessionListing(Loop loop, SessionTable table, SharedParts parts) {
        this.table = table;
        this.parts = parts;
        this.cutListLog = new LogThrottle(loop, 60_000, log, Level.WARN, "session lists cut to fit");
    }

    /** Large answers (a session list) are cut to {@link #LIST_UNDER_PRESSURE_BYTES} while this says the hosts' queues are full. */
    void limitLargeAnswersBy(BooleanSupplier agentOutputOverBudget) {
        this.outputOverBudget = agentOutputOverBudget;
    }

    /**
     * core.session.list: every session of the agent, of every connection, answered on the request's id;
     * as many as fit one frame, with how many were left out.
     */
    void onList(SessionHost from, long id) {
        if (id == Protocol.CONTROL_ID) {
            from.output().refuse(id, ErrorKind.INVALID_SESSION, MessageType.SESSION_LIST.wire(),
                    "id 0 is the control channel, not a request id");
            return;
        }
        if (table.isRouted(new SessionKey(from.connection(), id))) {
            // its terminal answer on that id would read as the end of the session to the host
            from.output().refuse(id, ErrorKind.INVALID_SESSION, MessageType.SESSION_LIST.wire(),
                    "id " + id + " is in use by a running session");
            return;
        }
        // Under pressure (this host reads nothing, or every host's queues together are past the
        // agent's budget) the answer is fitted to LIST_UNDER_PRESSURE_BYTES, the rest counted in
        // omitted: 62 hosts that read nothing, each asking for a 4 MiB list, took the agent past the
        // JVM's direct-memory limit, and the OutOfMemoryError ended it.
        boolean pressed = !from.output().acceptsOutput() || outputOverBudget.getAsBoolean();
        SessionListResult result = parts.directory().listResult(id, pressed ? LIST_UNDER_PRESSURE_BYTES : Protocol.MAX_FRAME_LEN);
        if (result.omitted() > 0 && cutListLog.take()) {
            log.warn("session list for connection {}: {} session(s) listed, the {} newest left out so that the"
                    + " answer fits {}", from.connection(), result.sessions().size(), result.omitted(),
                    pressed ? LIST_UNDER_PRESSURE_BYTES / 1024 + " KiB (hosts' output queues are full)" : "one frame");
        }
        from.output().send(new Frame(id, MessageType.SESSION_LIST_RESULT, result));
    }
}
