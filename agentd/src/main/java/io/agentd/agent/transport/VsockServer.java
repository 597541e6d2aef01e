package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves hosts on a vsock port (AF_VSOCK), each connection a host of its own, many at once, exactly
 * like a unix socket ({@link SocketAcceptor}). There are no peer credentials on vsock: whoever can
 * reach the guest's port through the VMM (any host process that may open the VM's vsock device or
 * its proxy socket) is served; the access control is the host's (docs/SECURITY.md). A peer on the
 * agent's own machine is refused unless asked for ({@link VsockAdmission}). The peer's CID and port
 * are logged.
 */
public final class VsockServer implements Transport {
    private static final Logger log = LoggerFactory.getLogger(VsockServer.class);
    /** AF_VSOCK, the same on every Linux architecture. */
    static final int AF_VSOCK = 40;
    private static final int SOCK_STREAM = 1;
    /** Any CID the guest answers to. */
    static final int VMADDR_CID_ANY = 0xFFFF_FFFF;
    /**
     * struct sockaddr_vm: {u16 svm_family, u16 svm_reserved1, u32 svm_port, u32 svm_cid, u8
     * svm_zero[4]} (svm_flags is the first byte of svm_zero in newer headers; zero here).
     */
    static final int SOCKADDR_VM_BYTES = 16;
    private static final int EADDRINUSE = 98;
    private static final int EAFNOSUPPORT = 97;

    private final long port;
    private final boolean serveLocal;
    private final SocketAcceptor acceptor;

    /** @param serveLocal {@code --vsock-local serve}: serve peers on this machine too (vsock_loopback) */
    public VsockServer(Loop loop, long port, boolean serveLocal, HostLossPolicy hostLossPolicy,
            HostConnections connections) {
        this.port = port;
        this.serveLocal = serveLocal;
        // Copies, not splices: splicing into a vsock socket has not been checked against the guest's
        // kernel and VMMs the way the port was (PortLink.Splicing); a copy is never wrong.
        this.acceptor = new SocketAcceptor(loop, describe(), connections, hostLossPolicy,
                PortLink.Splicing.COPY_OUTPUT, new VsockAdmission(loop, describe(), serveLocal, VsockAdmission.readOwnCid()));
    }

    /** Whether this kernel can make vsock sockets at all (for the tests; the agent just tries). */
    public static boolean available() {
        int fd = Os.libc().socket(AF_VSOCK, SOCK_STREAM | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            return false;
        }
        Os.close(fd);
        return true;
    }

    @Override
    public void start() throws IOException {
        int fd = Os.libc().socket(AF_VSOCK, SOCK_STREAM | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            int err = Os.errno();
            throw new IOException("cannot make a vsock socket for " + describe() + ": " + Os.errnoName(err)
                    + (err == EAFNOSUPPORT ? " (no vsock in this kernel: load the vsock modules)" : ""));
        }
        try {
            ByteBuffer addr = Os.allocate(SOCKADDR_VM_BYTES);
            addr.putShort(0, (short) AF_VSOCK);
            addr.putInt(4, (int) port);
            addr.putInt(8, VMADDR_CID_ANY);
            if (Os.libc().bind(fd, addr, SOCKADDR_VM_BYTES) != 0) {
                int err = Os.errno();
                throw new IOException("cannot listen on " + describe() + ": "
                        + (err == EADDRINUSE ? "the port is in use" : Os.errnoDescription(err)) + " ("
                        + Os.errnoName(err) + ")");
            }
            Os.check("listen", Os.libc().listen(fd, UnixSocketServer.BACKLOG));
        } catch (IOException | RuntimeException e) {
            Os.close(fd);
            throw e;
        }
        acceptor.start(fd);
        log.info("listening on {} (no peer credentials on vsock: whoever reaches the port is served, {})", describe(),
                serveLocal ? "from this machine too (--vsock-local serve)" : "except from this machine");
    }

    @Override
    public void close() {
        acceptor.close();
    }

    @Override
    public String describe() {
        return "vsock:" + port;
    }

    @Override
    public HostLossPolicy hostLossPolicy() {
        return acceptor.hostLossPolicy();
    }

    @Override
    public boolean servesManyHosts() {
        return true;
    }
}
