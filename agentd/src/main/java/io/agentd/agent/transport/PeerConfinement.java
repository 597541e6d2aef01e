package io.agentd.agent.transport;

import io.agentd.agent.sys.Os;
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
 * it connects. Read from /proc/PID/status of the pid the kernel recorded at connect, and known to be
 * the peer's where the kernel pins its process ({@link PeerPidfd}).
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
     * Why the peer of {@code socketFd}, {@code pid} as SO_PEERCRED gave it, may not be served, or
     * null when it is no more confined than the agent. Its /proc/PID/status is read, then the
     * process the kernel pinned at the connect (SO_PEERPIDFD) must still be there: else the pid may
     * have gone to another process meanwhile, whose status says nothing of the peer's (a strict
     * session that stopped the agent, connected from a process that then exited, and had an
     * unconfined process take its pid, was served unconfined). A kernel without SO_PEERPIDFD
     * (before 6.5) leaves that race open: the status read is then the pid's, checked only to be a
     * process and not a thread of another.
     *
     * @throws SocketAcceptor.Admission.NoDescriptor when the agent has no descriptor left to read it
     */
    String refusalOfPeer(int socketFd, int pid, String peerName) {
        int pidfd = PeerPidfd.of(socketFd, peerName);
        try {
            return refusal(pid, pidfd, peerName);
        } finally {
            if (pidfd >= 0) {
                Os.close(pidfd);
            }
        }
    }

    /**
     * {@link #refusalOfPeer} of a pid and its pidfd ({@link PeerPidfd#UNAVAILABLE} when the
     * kernel gives none, {@link PeerPidfd#GONE} when the process was gone at the connect's check).
     */
    String refusal(int pid, int pidfd, String peerName) {
        String status;
        try {
            status = Files.readString(Path.of("/proc/" + pid + "/status"));
        } catch (FileSystemException e) {
            String reason = String.valueOf(e.getReason());
            if (reason.startsWith("Too many open files")) { // EMFILE, or ENFILE ("... in system")
                throw new SocketAcceptor.Admission.NoDescriptor(peerName,
                        reason.endsWith("in system") ? SocketAcceptor.ENFILE : SocketAcceptor.EMFILE);
            }
            status = null;
        } catch (IOException | RuntimeException e) {
            status = null;
        }
        Marks peer = status == null ? null : Marks.parse(status);
        boolean stillThePeer = pidfd == PeerPidfd.UNAVAILABLE || (pidfd >= 0 && PeerPidfd.alive(pidfd));
        if (peer == null || !isProcess(status, pid) || !stillThePeer) {
            return "its process (pid " + pid + ") is gone or unreadable, so how confined it is cannot be checked";
        }
        return refusal(peer);
    }

    /**
     * Whether the status is that of process {@code pid} rather than of a thread with that id:
     * /proc/TID/status answers for a thread too (the tids are not listed in /proc, but are there),
     * with its process's marks, and a peer's pid may have gone to a thread of an unconfined process.
     */
    static boolean isProcess(String status, int pid) {
        for (String line : status.split("\n")) {
            if (line.startsWith("Tgid:")) {
                return line.substring("Tgid:".length()).trim().equals(Integer.toString(pid));
            }
        }
        return false;
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
