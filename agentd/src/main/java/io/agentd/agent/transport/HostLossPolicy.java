package io.agentd.agent.transport;

import java.util.Locale;

/**
 * What happens to the running sessions when the host they belong to goes away (its connection
 * closed, or the host side of the port hung up). The one decision about host loss: the transport
 * only reports the loss and carries the policy chosen for it in configuration ({@code --on-host-loss},
 * defaulting per transport), and {@link io.agentd.agent.Agent#onHostLost} applies it.
 *
 * <p>It is a value a connection carries, so that an agent serving several hosts can apply it per
 * connection.
 */
public enum HostLossPolicy {
    /**
     * SIGKILL to every session's process group (and to lingering groups), nothing sent: nobody can
     * read their output. The default on a unix socket, whose host does not come back: a new
     * connection is a new host.
     */
    KILL_SESSIONS("kill"),
    /**
     * The sessions run on, and their output stays queued for the host's return. The default on a
     * virtio or tty port, whose host side (the VMM) reconnects to the same guest.
     */
    KEEP_SESSIONS("keep");

    /** The default of a transport that serves one connection per host (a unix socket). */
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
