package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.ByteBuffer;
import java.util.LinkedHashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Serves a listening stream socket (unix or vsock): every connection it accepts is a host of its own,
 * served at once on its own link ({@link HostConnections#accept}), as many at a time as the agent's
 * limit. Past the limit a connection is accepted, told why on id 0 ({@link #LIMIT_KIND}) and closed,
 * with one log line at a limited rate. When a host goes away its fd is closed, its frames still
 * queued are dropped (nobody reads them) and its endpoint applies the policy. The transport that owns
 * the listening fd (binding, access control) is its {@link Admission}. Loop thread only.
 */
final class SocketAcceptor {
    private static final Logger log = LoggerFactory.getLogger(SocketAcceptor.class);
    /** The connection went away between the backlog and accept: nothing to wait for. */
    private static final int ECONNABORTED = 103;
    /** The process, or the system, has no file descriptor left for the connection. */
    static final int ENFILE = LibC.ENFILE;
    static final int EMFILE = LibC.EMFILE;
    /** A lasting accept failure or refusal is logged when it starts, then at most once per this. */
    static final long LOG_INTERVAL_MILLIS = 10_000;
    /** The peer address accept fills in: room for any sockaddr the agent listens with. */
    private static final int ADDR_BYTES = 128;
    /**
     * The core.error kind of a connection refused at the limit: of the kinds hosts know, the one that
     * says "no session can be had here" (docs/PROTOCOL-EXTENSIONS.md).
     */
    static final ErrorKind LIMIT_KIND = ErrorKind.INVALID_SESSION;

    /** Who may be served: the transport's check of an accepted peer. */
    interface Admission {
        /**
         * The peer's name for the logs, or null when it is refused (the admission logged why; the
         * acceptor closes it).
         *
         * @param addr the peer's address as accept filled it in
         */
        String admit(int fd, ByteBuffer addr);

        /**
         * The check of a peer that is only to be told it cannot be served for want of descriptors:
         * by default {@link #admit}'s. A transport whose check needs a descriptor of its own (the
         * unix socket reads the peer's /proc status) checks what it can without one.
         */
        default String admitToRefuse(int fd, ByteBuffer addr) {
            return admit(fd, addr);
        }

        /**
         * Thrown by {@link #admit} when its check needs a descriptor and the agent has none left:
         * the peer is told so, as when accept itself found none.
         */
        final class NoDescriptor extends RuntimeException {
            private static final long serialVersionUID = 1L;
            final String peer;
            final int errno;

            public NoDescriptor(String peer, int errno) {
                super(peer, null, false, false);
                this.peer = peer;
                this.errno = errno;
            }
        }
    }

    private final Loop loop;
    private final String describe;
    private final HostConnections connections;
    private final HostLossPolicy policy;
    private final PortLink.Splicing splicing;
    private final Admission admission;
    private final ByteBuffer addr = Os.allocate(ADDR_BYTES);
    private final ByteBuffer addrLen = Os.allocate(4);
    /** The fds of the connections served now. */
    private final Set<Integer> connFds = new LinkedHashSet<>();
    private final AcceptBackoff backoff = new AcceptBackoff();
    private final LogThrottle acceptFailureLog;
    private final LogThrottle overLimitLog;
    private final LogThrottle attachFailureLog;
    private final LogThrottle noDescriptorLog;
    private final SpareDescriptor spare = new SpareDescriptor();
    private int listenFd = -1;
    private Registration listenReg;
    /** Watches the listening socket again after a failed accept; null when none is pending. */
    private Loop.Timer retryAccept;

    /**
     * @param describe what is served, for logs ("unix:/run/agentd.sock", "vsock:1024")
     * @param splicing whether output may be spliced into this kind of socket
     */
    HostLossPolicy hostLossPolicy() {
        return policy;
    }

    SocketAcceptor(Loop loop, String describe, HostConnections connections, HostLossPolicy policy,
            PortLink.Splicing splicing, Admission admission) {
        this.loop = loop;
        this.describe = describe;
        this.connections = connections;
        this.policy = policy;
        this.splicing = splicing;
        this.admission = admission;
        this.acceptFailureLog = new LogThrottle(loop, LOG_INTERVAL_MILLIS, log, Level.WARN,
                "failed accepts on " + describe);
        this.overLimitLog = new LogThrottle(loop, LOG_INTERVAL_MILLIS, log, Level.WARN,
                "connections on " + describe + " refused over --max-connections");
        this.attachFailureLog = new LogThrottle(loop, LOG_INTERVAL_MILLIS, log, Level.WARN,
                "connections on " + describe + " closed unserved (the loop cannot watch them)");
        this.noDescriptorLog = new LogThrottle(loop, LOG_INTERVAL_MILLIS, log, Level.WARN,
                "connections on " + describe + " refused for want of file descriptors");
    }

    /** Starts accepting on {@code listenFd} (listening, non-blocking; closed by {@link #close}). */
    void start(int listenFd) {
        this.listenFd = listenFd;
        spare.take();
        listenReg = loop.register(listenFd, events -> accept());
        listenReg.setRead(true);
    }

    private void accept() {
        int fd = acceptNext();
        if (fd < 0) {
            int err = Os.errno();
            if ((err == EMFILE || err == ENFILE) && refuseWithSpareDescriptor(err)) {
                return;
            }
            if (err != LibC.EAGAIN && err != LibC.EINTR && err != ECONNABORTED) {
                pauseAccepting(err);
            }
            return;
        }
        backoff.succeeded();
        spare.take(); // lost when the limit was below every fd held, and had back now
        String peer;
        try {
            peer = admission.admit(fd, addr);
        } catch (Admission.NoDescriptor none) {
            tellNoDescriptor(fd, none.errno, none.peer);
            return;
        }
        if (peer == null) {
            Os.close(fd);
            return;
        }
        // The fd names the connection in the link's own lines (its hang-up); the connection's
        // served line, which says who it is, is the only one logged for the accept.
        HostEndpoint endpoint = connections.accept(describe + " (" + peer + ", fd " + fd + ")", policy);
        if (endpoint == null) {
            refuseOverLimit(fd, peer);
            return;
        }
        try {
            endpoint.link().attach(fd, splicing, PortLink.Resync.DROP_HOST, wasConnected -> {
                connFds.remove(fd);
                Os.close(fd);
                endpoint.link().discardOutput();
                endpoint.hostLost(true);
                endpoint.link().release();
            });
        } catch (RuntimeException e) {
            notServed(fd, peer, endpoint, e);
            return;
        }
        connFds.add(fd);
    }

    /** The next waiting connection's fd (non-blocking, close-on-exec), its peer in {@link #addr}; -1 and errno. */
    private int acceptNext() {
        addrLen.putInt(0, ADDR_BYTES);
        return Os.libc().accept4(listenFd, addr, addrLen, LibC.O_NONBLOCK | LibC.O_CLOEXEC);
    }

    /**
     * The loop could not watch the connection's fd (epoll_ctl: ENOSPC past max_user_watches, ENOMEM):
     * the fd is closed and the connection is over at once (its slot of --max-connections is free
     * again), with one log line at a limited rate. The host sees its connection closed.
     */
    private void notServed(int fd, String peer, HostEndpoint endpoint, RuntimeException e) {
        Os.close(fd);
        endpoint.hostLost(true); // nothing was sent on it: it never counted as connected
        endpoint.link().release();
        if (attachFailureLog.take()) {
            log.warn("a connection on {} from {} was closed unserved: the loop cannot watch it ({}){}", describe,
                    peer, LogText.message(String.valueOf(e.getCause() != null ? e.getCause().getMessage() : e.getMessage())));
        }
    }

    /**
     * One connection too many: a core.error on id 0 saying the limit, written straight to the fresh
     * socket (its send buffer is empty: the frame fits), then the socket is closed.
     */
    private void refuseOverLimit(int fd, String peer) {
        int max = connections.maxConnections();
        String written = writeRefusal(fd, "too many connections: " + max
                + " are open, the agent's limit (--max-connections); this one is closed");
        Os.close(fd);
        if (overLimitLog.take()) {
            log.warn("refused a connection on {} from {}: {} connections open (--max-connections); {}", describe,
                    peer, max, written);
        }
    }

    /**
     * No descriptor for the next connection: the spare one is given up for it, the host is told on
     * id 0 why it cannot be served (once the transport admits it, as at the connection limit) and
     * the connection closed, and the spare taken again. Each waiting host gets its answer this way,
     * one per turn of the loop, while the shortage lasts.
     *
     * @return false when the caller must back off as for any lasting failure: no spare to give up
     *         and none to be had, or the accept failed for want of a descriptor all the same
     */
    private boolean refuseWithSpareDescriptor(int err) {
        if (!spare.release()) {
            // None in reserve (the limit was below every fd held): if one can be had now,
            // descriptors are back, and the connection is accepted again as any other.
            if (!spare.take()) {
                return false;
            }
            accept();
            return true;
        }
        int fd = acceptNext();
        if (fd < 0) {
            int again = Os.errno();
            spare.take();
            // The connection left meanwhile, or nothing waits: no shortage to back off from.
            return again == LibC.EAGAIN || again == LibC.EINTR || again == ECONNABORTED;
        }
        String peer = admission.admitToRefuse(fd, addr);
        if (peer == null) {
            Os.close(fd); // refused by the transport (it logged why): told nothing, as any refused peer
            spare.take();
            return true;
        }
        tellNoDescriptor(fd, err, peer);
        return true;
    }

    /** Tells the peer on {@code fd} it cannot be served for want of descriptors, closes it, takes the spare again. */
    private void tellNoDescriptor(int fd, int err, String peer) {
        String why = err == EMFILE
                ? "every file descriptor the agent's limit allows is in use (its sessions and connections)"
                : "the system has no file descriptor left";
        String written = writeRefusal(fd, "the agent cannot serve another connection now: " + why
                + "; this one is closed, try again when sessions have ended");
        Os.close(fd);
        boolean kept = spare.take();
        if (noDescriptorLog.take()) {
            log.warn("refused a connection on {} from {}: {} ({}); {}{}", describe, peer, why, Os.errnoName(err),
                    written, kept ? "" : "; no descriptor could be kept in reserve for the next one");
        }
    }

    /**
     * Writes a core.error of {@link #LIMIT_KIND} on id 0 straight to a fresh socket (its send buffer
     * is empty: the frame fits); says for the log whether it went out. The vsock admission's too.
     */
    static String writeRefusal(int fd, String message) {
        byte[] frame = new FrameEncoder().encode(new Frame(Protocol.CONTROL_ID, MessageType.CORE_ERROR,
                new ErrorPayload(LIMIT_KIND.wire(), message, null)));
        try {
            int n = Os.write(fd, ByteBuffer.wrap(frame));
            return n == frame.length ? "told so" : "the refusal could not be written whole";
        } catch (OsException e) {
            return "the refusal could not be written (" + e.getMessage() + ")";
        }
    }

    /** accept failed for a reason that may last: stop watching the socket for a while (see {@link AcceptBackoff}). */
    private void pauseAccepting(int err) {
        long pause = backoff.failed();
        if (acceptFailureLog.take()) {
            log.warn("accept failed on {}: {}; hosts wait in the backlog, next try in {} ms", describe,
                    Os.errnoName(err), pause);
        }
        listenReg.setRead(false);
        retryAccept = loop.schedule(pause, () -> {
            retryAccept = null;
            if (listenReg != null) {
                listenReg.setRead(true);
            }
        });
    }

    /** Stops accepting and closes every connection's fd and the listening one. */
    void close() {
        if (retryAccept != null) {
            retryAccept.cancel();
            retryAccept = null;
        }
        if (listenReg != null) {
            listenReg.cancel();
            listenReg = null;
        }
        for (int fd : connFds) {
            Os.close(fd);
        }
        connFds.clear();
        spare.release();
        Os.close(listenFd);
        listenFd = -1;
    }
}
