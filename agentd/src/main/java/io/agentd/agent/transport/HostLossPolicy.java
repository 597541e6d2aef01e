package io.agentd.agent.transport;

import java.util.Locale;

/**
 * What happens to the running sessions when the host they belong to goes away (its connection
 * closed, the host side of the port hung up, or the relay client that owned them left). The one
 * decision about host loss: the transport only reports the loss and carries the policy chosen for it
 * in configuration ({@code --on-host-loss}, defaulting per transport), each connection carries it
 * on, and {@code io.agentd.agent.Connection} applies it to that connection's sessions only.
 */
public enum HostLossPolicy {
    /**
     * SIGKILL to every session's process group (and to lingering groups), nothing sent: nobody can
     * read their output. The default on a unix socket, whose host does not come back: a new
     * connection is a new host.
     */
    KILL_SESSIONS("kill"),
    /**
     * The sessions run on. On a virtio or tty port (the default there: the VMM reconnects to the
     * same guest) their output stays queued for the host's return; on a socket, whose connection
     * nobody comes back to, they run on detached, their output kept in the session's buffer for a
     * later attach (docs/PROTOCOL-EXTENSIONS.md, "Sessions").
     */
    KEEP_SESSIONS("keep");

    /** The default of a transport that serves one connection per host (a unix or vsock socket). */
    public static final HostLossPolicy SOCKET_DEFAULT = KILL_SESSIONS;
    /** The default of a port whose host side comes back (virtio-serial, a tty). */
    public static final HostLossPolicy PORT_DEFAULT = KEEP_SESSIONS;

    private final String option;

    HostLossPolicy(String option) {
        this.option = option;
    }

    /** Its name on the command line ({@code --on-host-loss kill|keep}). */
    public String option() {
        return option;
    }

    /** The policy named {@code option} (kill or keep), or null for anything else. */
    public static HostLossPolicy fromOption(String option) {
        for (HostLossPolicy p : values()) {
            if (p.option.equals(option.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        return null;
    }
}
