package io.agentd.agent.transport;

import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Who is served on a vsock port: vsock has no peer credentials, only the peer's CID. A peer on
 * another machine (the host, CID 2, through the VMM's vsock device) is the host this port is for.
 * A peer on this machine (CID 1, or this machine's own CID, both through vsock_loopback) may be any
 * process of the guest, whatever its uid, the agent's own confined sessions included, and would run
 * commands with the agent's full rights: it is refused, told why on id 0, unless the agent was
 * started with {@code --vsock-local serve} (docs/SECURITY.md). A local client has the unix socket,
 * whose peers the kernel names.
 */
final class VsockAdmission implements SocketAcceptor.Admission {
    private static final Logger log = LoggerFactory.getLogger(VsockServer.class);
    /** The loopback transport's CID: a connection from this machine to itself. */
    static final int VMADDR_CID_LOCAL = 1;
    /** An unsigned CID no machine has: this machine's own CID when it cannot be read. */
    static final long NO_CID = -1;
    /** IOCTL_VM_SOCKETS_GET_LOCAL_CID, _IO(7, 0xb9), on /dev/vsock. */
    private static final long GET_LOCAL_CID = 0x7b9;
    private static final byte[] DEV_VSOCK = "/dev/vsock\0".getBytes(StandardCharsets.US_ASCII);

    private final String describe;
    private final boolean serveLocal;
    private final long ownCid;
    private final LogThrottle refusedLog;

    /**
     * @param describe   the port, for the log ("vsock:1024")
     * @param serveLocal {@code --vsock-local serve}: peers on this machine are served too
     * @param ownCid     this machine's CID ({@link #readOwnCid}), or {@link #NO_CID}
     */
    VsockAdmission(Loop loop, String describe, boolean serveLocal, long ownCid) {
        this.describe = describe;
        this.refusedLog = new LogThrottle(loop, SocketAcceptor.LOG_INTERVAL_MILLIS, log, Level.WARN,
                "refused connections from this machine on " + describe);
        this.serveLocal = serveLocal;
        this.ownCid = ownCid;
    }

    /** This machine's CID from /dev/vsock; {@link #NO_CID} when there is none (no guest transport: only CID 1 is local). */
    static long readOwnCid() {
        int fd = Os.libc().open(DEV_VSOCK, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            return NO_CID;
        }
        try {
            int[] cid = new int[1];
            return Os.libc().ioctl(fd, GET_LOCAL_CID, cid) == 0 ? Integer.toUnsignedLong(cid[0]) : NO_CID;
        } finally {
            Os.close(fd);
        }
    }

    @Override
    public String admit(int fd, ByteBuffer addr) {
        long cid = Integer.toUnsignedLong(addr.getInt(8));
        String peer = "cid " + cid + ", port " + Integer.toUnsignedString(addr.getInt(4));
        if (serveLocal || !(cid == VMADDR_CID_LOCAL || cid == ownCid)) {
            return peer;
        }
        String told = SocketAcceptor.writeRefusal(fd, "this agent does not serve vsock connections from its own"
                + " machine (" + peer + "): vsock cannot tell which process connected, and any process of the"
                + " guest could run commands with the agent's rights; use the agent's unix socket, or start"
                + " the agent with --vsock-local serve; this connection is closed");
        if (refusedLog.take()) {
            log.warn("refused a connection on {} from {}: a peer on this machine, which vsock cannot name (any"
                    + " process of the guest, a confined session's too); --vsock-local serve serves them; {}",
                    describe, peer, told);
        }
        return null;
    }
}
