package io.agentd.client;

import io.agentd.client.fs.FsListener;
import io.agentd.client.fs.FsTransport;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The fs family's use of a connection ({@link AgentConnection}): its ids, its writes, and the routing of fs frames. */
final class FsConnection implements FsTransport {
    private static final Logger log = LoggerFactory.getLogger(FsConnection.class);

    private final AgentConnection connection;

    FsConnection(AgentConnection connection) {
        this.connection = connection;
    }

    @Override
    public boolean extensions() {
        return connection.offers(Ready.FEATURE_FS_EXT);
    }

    @Override
    public long start(FsRequest request, FsListener listener, long deadline) throws IOException {
        return connection.open(id -> new Route(id, listener, connection),
                route -> new Frame(route.id, MessageType.FS_REQUEST, request), deadline).id;
    }

    @Override
    public void sendData(long id, byte[] data, int off, int len, long deadline) throws IOException {
        connection.sendData(id, MessageType.FS_DATA, data, off, len, deadline);
    }

    @Override
    public void refuseWaitHere(String what) {
        connection.refuseWaitOnReader(what);
    }

    @Override
    public void endData(long id, long deadline) throws IOException {
        connection.send(deadline, new Frame(id, MessageType.FS_DATA, ExecData.EOF));
    }

    @Override
    public void retire(long id, FsListener listener) {
        if (connection.retire(id, r -> r instanceof Route route && route.listener == listener)) {
            log.debug("fs request {}: no longer waited for; its id is free and a late answer is dropped", id);
        }
    }

    /** One fs id's frames to its listener; a response or a core.error ends the id. */
    private static final class Route implements Receiver {
        final long id;
        private final FsListener listener;
        /** For the rate of its lines about frames it does not expect. */
        private final AgentConnection connection;

        Route(long id, FsListener listener, AgentConnection connection) {
            this.id = id;
            this.listener = listener;
            this.connection = connection;
        }

        @Override
        public boolean onFrame(Frame frame) {
            try {
                switch (frame.type()) {
                    case FS_DATA -> listener.onData(((ExecData) frame.payload()).data());
                    case FS_CREDIT -> listener.onCredit(((ExecStdinCredit) frame.payload()).bytes());
                    case FS_RESPONSE -> {
                        listener.onResponse((FsResponse) frame.payload());
                        return true;
                    }
                    // The agent refuses an fs request (or a frame of it) only in ways that end it.
                    case CORE_ERROR -> {
                        listener.onFailure(new AgentErrorException((ErrorPayload) frame.payload()));
                        return true;
                    }
                    default -> {
                        if (frame.isTerminal()) {
                            listener.onFailure(new AgentException("the agent ended fs request " + id
                                    + " with " + frame.type()));
                            return true;
                        }
                        if (connection.takeUnexpectedFrameLine()) {
                            log.warn("fs request {}: unexpected {} from the agent, ignored", id, frame.type());
                        }
                    }
                }
            } catch (RuntimeException e) {
                log.warn("fs request {}: listener failed on {}", id, frame.type(), e);
                return frame.isTerminal();
            }
            return false;
        }

        @Override
        public void onAbort(AgentException cause) {
            listener.onFailure(cause);
        }
    }
}
