package io.agentd.agent.session;

import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session's current host output: the one place that says which connection, under which id, the
 * session's frames go to; or that they go nowhere (detached: its host left and the policy kept it
 * running). The session's parts (pumps, stdin writer, terminal frames) all send through it and name
 * the session by its first id; the route puts each frame on the current connection under the
 * current id, so re-targeting a session ({@link #retarget}, {@link #detach}) changes nothing else.
 *
 * <p>Detached, it takes no output ({@link #acceptsOutput} false: the session stops reading its
 * children, which block on their full pipes), so little reaches it; what does (an exited, a credit,
 * the last bytes of a drain window) has nobody to go to and is dropped, counted and logged once per
 * detachment: never silently. Loop thread only.
 */
public final class SessionRoute implements HostOutput {
    private static final Logger log = LoggerFactory.getLogger(SessionRoute.class);

    /** The connection the frames go to, null while detached. */
    private SessionHost host;
    /** The connection last routed to (kept while detached: it names the session in logs and in the reaper). */
    private long connection;
    private long id;
    /** Frames dropped since the last detachment. */
    private long dropped;

    public SessionRoute(SessionHost host, long id) {
        retarget(host, id);
    }

    /** From now on the session's frames go to {@code host} under {@code id}. */
    public void retarget(SessionHost host, long id) {
        this.host = host;
        this.connection = host.connection();
        this.id = id;
        if (dropped > 0) {
            log.info("session {}: {} frame(s) were dropped while it had no host", key(), dropped);
        }
        dropped = 0;
    }

    /** The host is gone and the session runs on: its frames have nowhere to go. */
    public void detach() {
        host = null;
        dropped = 0;
    }

    public boolean attached() {
        return host != null;
    }

    /** The connection and id the session is (or, detached, was last) addressed by. */
    public SessionKey key() {
        return new SessionKey(connection, id);
    }

    public long connection() {
        return connection;
    }

    public long id() {
        return id;
    }

    private HostOutput output(MessageType type) {
        if (host != null) {
            return host.output();
        }
        if (dropped++ == 0) {
            log.warn("session {}: its host is gone; {} and what follows it dropped (the session runs on)", key(),
                    type.wire());
        }
        return null;
    }

    @Override
    public void send(Frame frame) {
        HostOutput out = output(frame.type());
        if (out != null) {
            out.send(frame.id() == id ? frame : new Frame(id, frame.type(), frame.payload()));
        }
    }

    @Override
    public void sendData(long firstId, MessageType type, ByteBuffer data) {
        HostOutput out = output(type);
        if (out != null) {
            out.sendData(id, type, data);
        }
    }

    @Override
    public boolean acceptsSplicedData() {
        return host != null && host.output().acceptsSplicedData();
    }

    @Override
    public void sendSplicedData(long firstId, MessageType type, int pipeFd, int length, Runnable onReleased) {
        HostOutput out = output(type);
        if (out != null) {
            out.sendSplicedData(id, type, pipeFd, length, onReleased);
        } else {
            onReleased.run();
        }
    }

    @Override
    public void takeOutOfPipe(int pipeFd) {
        if (host != null) {
            host.output().takeOutOfPipe(pipeFd);
        }
        // Detached: the link the bytes were announced to dropped its queue when its host left, and
        // gave the pipe back then.
    }

    @Override
    public boolean acceptsOutput() {
        return host != null && host.output().acceptsOutput();
    }

    @Override
    public void refuseStdin(long firstId, Integer errno, String errnoName, String message) {
        HostOutput out = output(MessageType.EXEC_STDIN_ERROR);
        if (out != null) {
            out.refuseStdin(id, errno, errnoName, message);
        }
    }

    @Override
    public void refuse(long firstId, ErrorKind kind, String offendingType, String message) {
        HostOutput out = output(MessageType.CORE_ERROR);
        if (out != null) {
            out.refuse(id, kind, offendingType, message);
        }
    }
}
