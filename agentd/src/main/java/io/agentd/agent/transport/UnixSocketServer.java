package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one host at a time on a unix stream socket. While a host is connected the listening socket
 * is left out of the loop, so a second host waits in the backlog and is served when the first one
 * disconnects. When a host goes away its frames still queued are dropped (a new connection is a new
 * host) and the {@link HostLossListener} is told, with this transport's {@link HostLossPolicy}.
 *
 * <p>Whoever can connect runs commands as the agent's user, so the socket is private (see
 * {@link SocketAccess}, {@link SocketPath}): created with its mode whatever the umask, published
 * under its path only once it listens, and every connection's peer checked against the allowed uids
 * (and group) before it is served; a refused peer is closed with one log line (rate-limited).
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
    private final SocketPath socketPath;
    private final SocketAccess access;
    private final Set<Integer> allowedUids = new HashSet<>();
    /** The socket's group, whose members are served too; -1 when none was asked for. */
    private int allowedGid = -1;
    private final HostLossPolicy hostLossPolicy;
    private final HostLossListener hostLost;
    private int listenFd = -1;
    private int connFd = -1;
    private Registration listenReg;
    private final AcceptBackoff backoff = new AcceptBackoff();
    private final LogThrottle acceptFailureLog = new LogThrottle(ACCEPT_LOG_INTERVAL_MILLIS);
    private final LogThrottle refusedPeerLog = new LogThrottle(ACCEPT_LOG_INTERVAL_MILLIS);
    /** Watches the listening socket again after a failed accept; null when none is pending. */
    private Loop.Timer retryAccept;

    public UnixSocketServer(Loop loop, PortLink link, Path path, SocketAccess access, HostLossPolicy hostLossPolicy,
            HostLossListener hostLost) {
        this.loop = loop;
        this.link = link;
        this.path = path;
        this.socketPath = new SocketPath(path);
        this.access = access;
        this.hostLossPolicy = hostLossPolicy;
        this.hostLost = hostLost;
    }

    /** A private socket: mode 0600, root and the agent's own uid only. */
    public UnixSocketServer(Loop loop, PortLink link, Path path, HostLossPolicy hostLossPolicy,
            HostLossListener hostLost) {
        this(loop, link, path, SocketAccess.privateSocket(), hostLossPolicy, hostLost);
    }

    @Override
    public void start() throws IOException {
        Path bindAt = socketPath.temporary();
        byte[] name = bindAt.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH_MAX) {
            throw new IOException("socket path too long (" + name.length + " bytes bound as " + bindAt.getFileName()
                    + ", max " + (SUN_PATH_MAX - 1) + ")");
        }
        socketPath.check();
        allowedUids.add(0);
        allowedUids.add(Os.libc().getuid());
        allowedUids.addAll(access.allowUids());
        listenFd = Os.check("socket", Os.libc().socket(AF_UNIX, SOCK_STREAM | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0));
        Pointer addr = Memory.allocateDirect(Os.runtime(), 2 + SUN_PATH_MAX, true);
        addr.putShort(0, (short) AF_UNIX);
        addr.put(2, name, 0, name.length);
        try {
            // bind creates the file with the socket's own mode less the umask: never wider than ours.
            Os.check("fchmod", Os.libc().fchmod(listenFd, access.mode()));
            Os.check("bind(" + bindAt + ")", Os.libc().bind(listenFd, addr, 2 + name.length + 1));
            setOwnership(bindAt);
            Os.check("listen", Os.libc().listen(listenFd, 4));
            socketPath.publish();
        } catch (IOException | RuntimeException e) {
            Os.close(listenFd);
            listenFd = -1;
            socketPath.abandon();
            throw e;
        }
        listenReg = loop.register(listenFd, events -> accept());
        listenReg.setRead(true);
        log.info("listening on unix:{} (mode 0{}, uids {}{})", path, Integer.toOctalString(access.mode()),
                allowedUids, allowedGid < 0 ? "" : ", group " + allowedGid);
    }

    /** The exact mode, whatever the umask took away, and the group if one was asked for. */
    private void setOwnership(Path socket) throws IOException {
        if (access.group() != null) {
            GroupPrincipal group = socket.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByGroupName(access.group());
            Files.getFileAttributeView(socket, PosixFileAttributeView.class).setGroup(group);
            allowedGid = (Integer) Files.getAttribute(socket, "unix:gid");
        }
        Files.setPosixFilePermissions(socket, permissions(access.mode()));
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ (0400) ... OTHERS_EXECUTE (0001)
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                set.add(bits[i]);
            }
        }
        return set;
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
        PeerCredentials peer;
        try {
            peer = PeerCredentials.of(fd);
        } catch (OsException e) {
            Os.close(fd);
            refused("a peer the kernel cannot name (" + e.getMessage() + ")");
            return;
        }
        if (!allowedUids.contains(peer.uid()) && !(allowedGid >= 0 && peer.inGroup(allowedGid))) {
            Os.close(fd);
            refused("uid " + Integer.toUnsignedString(peer.uid()) + " (pid " + peer.pid() + ")");
            return;
        }
        log.info("host connected on unix:{} (uid {}, pid {})", path, Integer.toUnsignedString(peer.uid()), peer.pid());
        connFd = fd;
        listenReg.setRead(false);
        link.attach(fd, PortLink.Splicing.SPLICE_OUTPUT, PortLink.Resync.DROP_HOST, this::onHangup);
    }

    /** One line per refused connection, at most one per interval with the count of those left out. */
    private void refused(String who) {
        long notLogged = refusedPeerLog.admit(System.nanoTime());
        if (notLogged != LogThrottle.SKIP) {
            log.warn("refused a connection from {}: not an allowed uid (--allow-uid){}", who,
                    LogThrottle.sinceLastLine(notLogged, "more refused"));
        }
    }

    /** accept failed for a reason that may last: stop watching the socket for a while (see {@link AcceptBackoff}). */
    private void pauseAccepting(int err) {
        long pause = backoff.failed();
        long notLogged = acceptFailureLog.admit(System.nanoTime());
        if (notLogged != LogThrottle.SKIP) {
            log.warn("accept failed: {}; the host waits in the backlog, next try in {} ms{}", Os.errnoName(err),
                    pause, LogThrottle.sinceLastLine(notLogged, "more failures"));
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
