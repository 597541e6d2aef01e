package io.agentd.agent.transport;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a unix socket peer is more confined than the agent: under no_new_privs while the agent is
 * not, or with a capability bounding set that lacks a capability the agent's has. Such a peer is a
 * session this agent ran with the strict or restricted profile (or a process in some other
 * sandbox): a strict root session is still uid 0, which the socket serves, and served, it had the
 * agent run its commands and fs operations with every right its profile had taken away. Both marks
 * are inherited by every descendant and can never be undone, so a session cannot shed them before
 * it connects. Read from /proc/PID/status of the pid the kernel recorded at connect.
 */
final class PeerConfinement {
    /** The two marks, as /proc/PID/status gives them. */
    record Marks(boolean noNewPrivs, long boundingSet) {
        /** Parses the NoNewPrivs and CapBnd lines of a /proc/PID/status; null when either is missing. */
        static Marks parse(String status) {
            Boolean noNewPrivs = null;
            Long bounding = null;
            for (String line : status.split("\n")) {
                if (line.startsWith("NoNewPrivs:")) {
                    noNewPrivs = !line.substring("NoNewPrivs:".length()).trim().equals("0");
                } else if (line.startsWith("CapBnd:")) {
                    try {
                        bounding = Long.parseUnsignedLong(line.substring("CapBnd:".length()).trim(), 16);
                    } catch (NumberFormatException e) {
                        return null;
                    }
                }
            }
            return noNewPrivs == null || bounding == null ? null : new Marks(noNewPrivs, bounding);
        }
    }

    private final Marks agent;

    PeerConfinement(Marks agent) {
        this.agent = agent;
    }

    /** The agent's own marks; null when /proc is not there to read them (then no peer is checked). */
    static PeerConfinement ofThisProcess() {
        Marks self = read(Path.of("/proc/self/status"));
        return self == null ? null : new PeerConfinement(self);
    }

    /**
     * Why {@code pid} may not be served, or null when it is no more confined than the agent.
     *
     * @throws SocketAcceptor.Admission.NoDescriptor when the agent has no descriptor left to read it
     */
    String refusal(int pid, String peerName) {
        Marks peer;
        try {
            peer = Marks.parse(Files.readString(Path.of("/proc/" + pid + "/status")));
        } catch (FileSystemException e) {
            String reason = String.valueOf(e.getReason());
            if (reason.startsWith("Too many open files")) { // EMFILE, or ENFILE ("... in system")
                throw new SocketAcceptor.Admission.NoDescriptor(peerName,
                        reason.endsWith("in system") ? SocketAcceptor.ENFILE : SocketAcceptor.EMFILE);
            }
            peer = null;
        } catch (IOException | RuntimeException e) {
            peer = null;
        }
        if (peer == null) {
            return "its process (pid " + pid + ") is gone or unreadable, so how confined it is cannot be checked";
        }
        return refusal(peer);
    }

    String refusal(Marks peer) {
        if (peer.noNewPrivs() && !agent.noNewPrivs()) {
            return "it runs under no_new_privs (a session of the strict profile, or another sandbox)";
        }
        long missing = agent.boundingSet() & ~peer.boundingSet();
        if (missing != 0) {
            return "its capability bounding set lacks capabilities the agent has (0x" + Long.toHexString(missing)
                    + "; a session of the strict or restricted profile, or another sandbox)";
        }
        return null;
    }

    private static Marks read(Path status) {
        try {
            return Marks.parse(Files.readString(status));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
