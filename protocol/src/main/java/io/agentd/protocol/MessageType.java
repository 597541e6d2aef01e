package io.agentd.protocol;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Every message type of the core, exec and fs families, the relay notice and the sessions extension (PROTOCOL.md, "Messages"), with its wire string,
 * the flags a frame of that type must carry, and the protocol generation that introduced it.
 */
public enum MessageType {
    CORE_READY("core.ready", 0, Sender.AGENT),
    CORE_SHUTDOWN("core.shutdown", Flags.SHUTDOWN, Sender.HOST),
    CORE_PING("core.ping", 0, Sender.HOST),
    CORE_PONG("core.pong", Flags.TERMINAL, Sender.AGENT),
    CORE_TOUCH("core.touch", 0, Sender.HOST),
    CORE_TOUCHED("core.touched", Flags.TERMINAL, Sender.AGENT),
    CORE_CLOCK_SYNC("core.clock.sync", 0, Sender.HOST),
    CORE_ERROR("core.error", Flags.TERMINAL, Sender.AGENT),
    EXEC_REQUEST("core.exec.request", Flags.SESSION_START, Sender.HOST),
    EXEC_STARTED("core.exec.started", 0, Sender.AGENT),
    EXEC_STDIN("core.exec.stdin", 0, Sender.HOST),
    EXEC_STDIN_ERROR("core.exec.stdin.error", 0, Sender.AGENT),
    EXEC_STDOUT("core.exec.stdout", 0, Sender.AGENT),
    EXEC_STDERR("core.exec.stderr", 0, Sender.AGENT),
    EXEC_EXITED("core.exec.exited", Flags.TERMINAL, Sender.AGENT),
    EXEC_FAILED("core.exec.failed", Flags.TERMINAL, Sender.AGENT),
    EXEC_RESIZE("core.exec.resize", 0, Sender.HOST),
    EXEC_SIGNAL("core.exec.signal", 0, Sender.HOST),
    /** Extension (docs/PROTOCOL-EXTENSIONS.md, "stdin flow control"): more stdin the host may send. */
    EXEC_STDIN_CREDIT("core.exec.stdin.credit", 0, Sender.AGENT),
    /**
     * Relay notice (PROTOCOL.md, "Relay notice"): a host relay tells the agent that the client
     * owning ids [id_start, id_end_exclusive) is gone. Id 0, host to guest.
     */
    CORE_RELAY_CLIENT_DISCONNECTED("core.relay.client.disconnected", 0, Sender.HOST),
    /**
     * Extension (docs/PROTOCOL-EXTENSIONS.md, "Relay flow control"): the relay's client of ids
     * [id_start, id_end_exclusive) does not read; hold the output of its sessions and fs Reads.
     * Id 0, host to guest, only to an agent whose core.ready lists {@code relay_flow}.
     */
    CORE_RELAY_CLIENT_PAUSED("core.relay.client.paused", 0, Sender.HOST),
    /** Extension: that client reads again; its held output may flow. Id 0, host to guest. */
    CORE_RELAY_CLIENT_RESUMED("core.relay.client.resumed", 0, Sender.HOST),
    /**
     * Extension (docs/PROTOCOL-EXTENSIONS.md, "Exits a relay dropped"): on a session's id, the relay
     * dropped the agent's core.exec.exited there, its client having left; hold the exit for an
     * attach. Host to guest, only to an agent whose core.ready lists {@code relay_exit_dropped}.
     */
    CORE_RELAY_EXIT_DROPPED("core.relay.exit.dropped", 0, Sender.HOST),

    // The fs family (PROTOCOL.md, "fs family"); its codec is FsPayloadDecoding / FsPayloadEncoding.
    /** One file system operation; its id ends with core.fs.response. */
    FS_REQUEST("core.fs.request", Flags.SESSION_START, Sender.HOST),
    /** File bytes of a Read (guest to host) or a Write (host to guest; empty data ends it). */
    FS_DATA("core.fs.data", 0, Sender.EITHER),
    /** The end of an fs request: ok, error, data. */
    FS_RESPONSE("core.fs.response", Flags.TERMINAL, Sender.AGENT),
    /** Extension (docs/PROTOCOL-EXTENSIONS.md, "fs extensions"): more Write data the host may send. */
    FS_CREDIT("core.fs.credit", 0, Sender.AGENT),

    // The sessions extension (docs/PROTOCOL-EXTENSIONS.md, "Sessions").
    /** Host: list every session of the agent (a fresh id, answered once). */
    SESSION_LIST("core.session.list", Flags.SESSION_START, Sender.HOST),
    /** Guest: the answer to core.session.list. */
    SESSION_LIST_RESULT("core.session.list.result", Flags.TERMINAL, Sender.AGENT),
    /** Host: become the host of a session, on a fresh id; its output and exit follow on that id. */
    SESSION_ATTACH("core.session.attach", Flags.SESSION_START, Sender.HOST),
    /** Guest: the attach succeeded; the retained output from {@code from} follows. */
    SESSION_ATTACHED("core.session.attached", 0, Sender.AGENT),
    /** Host: leave the session on this id running without a host (feature {@code session_detach}). */
    SESSION_DETACH("core.session.detach", 0, Sender.HOST),
    /** Guest: the session on this id is detached; nothing more comes on the id. */
    SESSION_DETACHED("core.session.detached", Flags.TERMINAL, Sender.AGENT);

    private static final Map<String, MessageType> BY_WIRE = new HashMap<>();

    static {
        for (MessageType t : values()) {
            BY_WIRE.put(t.wire, t);
        }
    }

    /** Which side sends a type: PROTOCOL.md's "dir" column (H, G) and its extensions'. */
    public enum Sender {
        /** Host to guest only. */
        HOST,
        /** Guest to host only: an agent refuses it from a host as unsupported_message_type. */
        AGENT,
        /** Both ways (core.fs.data: a Write's bytes go to the guest, a Read's come back). */
        EITHER
    }

    private final String wire;
    private final int flags;
    private final Sender sender;

    MessageType(String wire, int flags, Sender sender) {
        this.wire = wire;
        this.flags = flags;
        this.sender = sender;
    }

    /** Which side sends this type. */
    public Sender sender() {
        return sender;
    }

    /** Whether a host may send this type to an agent. */
    public boolean sentByHost() {
        return sender != Sender.AGENT;
    }

    /** The `t` string on the wire. */
    public String wire() {
        return wire;
    }

    /** The flags byte every frame of this type carries; any other value is `invalid_flags`. */
    public int flags() {
        return flags;
    }

    /** The generation that introduced this type; a frame whose `v` is older is refused. */
    public int introducedIn() {
        return Protocol.GENERATION;
    }

    /** The type for a wire string, or empty when this agent does not know it. */
    public static Optional<MessageType> fromWire(String wire) {
        return Optional.ofNullable(BY_WIRE.get(wire));
    }

    @Override
    public String toString() {
        return wire;
    }
}
