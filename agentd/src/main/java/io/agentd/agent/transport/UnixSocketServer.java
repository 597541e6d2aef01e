package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one host at a time on a unix stream socket. While a host is connected the listening socket
 * is left out of the loop, so a second host waits in the backlog and is served when the first one
 * disconnects. When a host goes away its frames still queued are dropped (a new connection is a new
 * host) and the {@link HostLossListener} is told, with this transport's {@link HostLossPolicy}.
 */
public final class UnixSocketServer implements Transport {
    private static final Logger log = LoggerFactory.getLogger(UnixSocketServer.class);
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SUN_PATH_MAX = 108;
    /** The connection went away between the backlog and accept: nothing to wait for. */
    private static final int ECONNABORTED = 103;
    /** A lasting accept failure is logged when it starts, then at most once per this. */
    static final long ACCEPT_LOG_INTERVAL_MILLIS = 10_000;

    private final Loop loop;
    private final PortLink link;
    private final Path path;
    private final HostLossPolicy hostLossPolicy;
    private final HostLossListener hostLost;
    private int listenFd = -1;
    private int connFd = -1;
    private Registration listenReg;
    private final AcceptBackoff backoff = new AcceptBackoff();
    private final LogThrottle acceptFailureLog = new LogThrottle(ACCEPT_LOG_INTERVAL_MILLIS);
    /** Watches the listening socket again after a failed accept; null when none is pending. */
    private Loop.Timer retryAccept;

    public UnixSocketServer(Loop loop, PortLink link, Path path, HostLossPolicy hostLossPolicy,
            HostLossListener hostLost) {
        this.loop = loop;
        this.link = link;
        this.path = path;
        this.hostLossPolicy = hostLossPolicy;
        this.hostLost = hostLost;
    }

    @Override
    public void start() throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH_MAX) {
            throw new IOException("socket path too long (" + name.length + " bytes, max " + (SUN_PATH_MAX - 1) + ")");
        }
        removeStaleSocket();
        listenFd = Os.check("socket", Os.libc().socket(AF_UNIX, SOCK_STREAM | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0));
        Pointer addr = Memory.allocateDirect(Os.runtime(), 2 + SUN_PATH_MAX, true);
        addr.putShort(0, (short) AF_UNIX);
        addr.put(2, name, 0, name.length);
        try {
            Os.check("bind(" + path + ")", Os.libc().bind(listenFd, addr, 2 + name.length + 1));
            Os.check("listen", Os.libc().listen(listenFd, 4));
        } catch (OsException e) {
            Os.close(listenFd);
            throw e;
        }
        listenReg = loop.register(listenFd, events -> accept());
        listenReg.setRead(true);
        log.info("listening on unix:{}", path);
    }

    /**
     * A socket file left by an agent that died is in the way of bind; one a live agent listens on,
     * or anything that is not a socket, is not ours to remove.
     */
    private void removeStaleSocket() throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(path + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException(path + " is in use: something is listening on it");
        } catch (ConnectException stale) {
            Files.delete(path);
        }
    }

    private void accept() {
        int fd = Os.libc().accept4(listenFd, null, null, LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0) {
            int err = Os.errno();
            if (err != LibC.EAGAIN && err != LibC.EINTR && err != ECONNABORTED) {
                pauseAccepting(err);
            }
            return;
        }
        backoff.succeeded();
        log.info("host connected on unix:{}", path);
        connFd = fd;
        listenReg.setRead(false);
        link.attach(fd, PortLink.Splicing.SPLICE_OUTPUT, PortLink.Resync.DROP_HOST, this::onHangup);
    }

    /** accept failed for a reason that may last: stop watching the socket for a while (see {@link AcceptBackoff}). */
    private void pauseAccepting(int err) {
        long pause = backoff.failed();
        long notLogged = acceptFailureLog.admit(System.nanoTime());
        if (notLogged != LogThrottle.SKIP) {
            log.warn("accept failed: {}; the host waits in the backlog, next try in {} ms{}", Os.errnoName(err),
                    pause, notLogged == 0 ? "" : " (" + notLogged + " more failures since the last such line)");
        }
        listenReg.setRead(false);
        retryAccept = loop.schedule(pause, () -> {
            retryAccept = null;
            if (listenReg != null && connFd < 0) {
                listenReg.setRead(true);
            }
        });
    }

    private void onHangup(boolean wasConnected) {
        Os.close(connFd);
        connFd = -1;
        link.discardOutput();
        hostLost.onHostLost(hostLossPolicy);
        if (listenReg != null) {
            listenReg.setRead(true);
        }
    }

    @Override
    public void close() {
        if (retryAccept != null) {
            retryAccept.cancel();
            retryAccept = null;
        }
        if (listenReg != null) {
            listenReg.cancel();
            listenReg = null;
        }
        Os.close(connFd);
        connFd = -1;
        Os.close(listenFd);
        listenFd = -1;
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.warn("could not remove {}: {}", path, e.getMessage());
        }
    }

    @Override
    public String describe() {
        return "unix:" + path;
    }
}
