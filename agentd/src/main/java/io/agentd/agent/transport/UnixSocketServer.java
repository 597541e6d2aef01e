package io.agentd.agent.transport;

import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Serves hosts on a unix stream socket, each connection a host of its own, many at once (see
 * {@link SocketAcceptor}: the limit, per-connection links, and what happens when one goes).
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
    /** sun_path's size, its terminating NUL included. */
    public static final int SUN_PATH_MAX = 108;

    /** The bytes of {@code path}'s absolute form, as it goes into a socket address (less its NUL). */
    public static int addressBytes(Path path) {
        return path.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8).length;
    }
    /** Connections waiting for accept: a burst of hosts connecting at once waits in it, not refused. */
    static final int BACKLOG = 128;

    private final Path path;
    private final SocketPath socketPath;
    private final SocketAccess access;
    private final Set<Integer> allowedUids = new HashSet<>();
    /** The socket's group, whose members are served too; -1 when none was asked for. */
    private int allowedGid = -1;
    private final LogThrottle refusedPeerLog;
    /** Refuses peers more confined than the agent (its own strict sessions); null without /proc. */
    private final PeerConfinement confinement = PeerConfinement.ofThisProcess();
    private final SocketAcceptor acceptor;
    private int listenFd = -1;

    public UnixSocketServer(Loop loop, Path path, SocketAccess access, HostLossPolicy hostLossPolicy,
            HostConnections connections) {
        this.path = path;
        this.socketPath = new SocketPath(path);
        this.access = access;
        this.refusedPeerLog = new LogThrottle(loop, SocketAcceptor.LOG_INTERVAL_MILLIS, log, Level.WARN,
                "refused connections from peers not served on unix:" + path);
        this.acceptor = new SocketAcceptor(loop, "unix:" + path, connections, hostLossPolicy,
                PortLink.Splicing.SPLICE_OUTPUT, new SocketAcceptor.Admission() {
                    @Override
                    public String admit(int fd, ByteBuffer addr) {
                        return UnixSocketServer.this.admit(fd, true);
                    }

                    /** Told only that it cannot be served: its uid is checked, its /proc status (an fd) is not. */
                    @Override
                    public String admitToRefuse(int fd, ByteBuffer addr) {
                        return UnixSocketServer.this.admit(fd, false);
                    }
                });
    }

    /** A private socket: mode 0600, root and the agent's own uid only. */
    public UnixSocketServer(Loop loop, Path path, HostLossPolicy hostLossPolicy, HostConnections connections) {
        this(loop, path, SocketAccess.privateSocket(), hostLossPolicy, connections);
    }

    @Override
    public void start() throws IOException {
        Path bindAt = socketPath.temporary();
        byte[] name = bindAt.toString().getBytes(StandardCharsets.UTF_8);
        if (!SocketPath.fitsSocketAddress(socketPath.path())) {
            throw new IOException("socket path too long (" + addressBytes(socketPath.path())
                    + " bytes, max " + (SUN_PATH_MAX - 1) + ")");
        }
        if (name.length >= SUN_PATH_MAX) {
            throw new IOException("socket path too long (" + name.length + " bytes bound as " + bindAt.getFileName()
                    + " before it is renamed, max " + (SUN_PATH_MAX - 1) + "): choose a name of 6 bytes or more");
        }
        socketPath.check(Os.libc().getuid(), Os.libc().getgid()); // and takes the path's lock
        allowedUids.add(0);
        allowedUids.add(Os.libc().getuid());
        allowedUids.addAll(access.allowUids());
        try {
            listenFd = Os.check("socket", Os.libc().socket(AF_UNIX, SOCK_STREAM | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0));
        } catch (IOException | RuntimeException e) {
            socketPath.abandon();
            throw e;
        }
        ByteBuffer addr = Os.allocate(2 + SUN_PATH_MAX);
        addr.putShort(0, (short) AF_UNIX);
        addr.put(2, name);
        try {
            // bind creates the file with the socket's own mode less the umask: never wider than ours.
            Os.check("fchmod", Os.libc().fchmod(listenFd, access.mode()));
            Os.check("bind(" + bindAt + ")", Os.libc().bind(listenFd, addr, 2 + name.length + 1));
            Object bound = setOwnership(bindAt);
            Os.check("listen", Os.libc().listen(listenFd, BACKLOG));
            socketPath.publish(bound);
        } catch (IOException | RuntimeException e) {
            Os.close(listenFd);
            listenFd = -1;
            socketPath.abandon();
            throw e;
        }
        acceptor.start(listenFd);
        log.info("listening on unix:{} (mode 0{}, uids {}{})", path, Integer.toOctalString(access.mode()),
                allowedUids, allowedGid < 0 ? "" : ", group " + allowedGid);
    }

    /**
     * The exact mode, whatever the umask took away, and the group if one was asked for; the
     * socket's identity, which {@link SocketPath#publish} checks the path names once renamed. Both
     * go on the socket bound or on nothing: a link or another file swapped in for the temporary name
     * since the bind is refused, not changed ({@link SocketFile}).
     */
    private Object setOwnership(Path socket) throws IOException {
        try (SocketFile bound = SocketFile.open(socket, Os.libc().getuid(), "the socket just bound")) {
            if (access.group() != null) {
                allowedGid = bound.setGroup(access.group());
            }
            bound.setMode(access.mode());
            return bound.identity();
        }
    }

    /** The peer's credentials against the allowed uids and group: its name for the logs, or null. */
    private String admit(int fd, boolean checkConfinement) {
        PeerCredentials peer;
        try {
            peer = PeerCredentials.of(fd);
        } catch (OsException e) {
            refused("a peer the kernel cannot name (" + e.getMessage() + ")");
            return null;
        }
        String who = "uid " + Integer.toUnsignedString(peer.uid()) + " (pid " + peer.pid() + ")";
        if (!allowedUids.contains(peer.uid()) && !(allowedGid >= 0 && peer.inGroup(allowedGid))) {
            refused(who, "not an allowed uid (--allow-uid)");
            return null;
        }
        String confined = confinement == null || !checkConfinement ? null : confinement.refusalOfPeer(fd, peer.pid(), who);
        if (confined != null) {
            refused(who, confined + ": it may not have the agent act with the rights it lacks");
            return null;
        }
        return "uid " + Integer.toUnsignedString(peer.uid()) + ", pid " + peer.pid();
    }

    /** One line per refused connection, at most one per interval; those left out are counted in a line of their own. */
    private void refused(String who) {
        refused(who, "not an allowed uid (--allow-uid)");
    }

    private void refused(String who, String why) {
        if (refusedPeerLog.take()) {
            log.warn("refused a connection from {} on unix:{}: {}", who, path, why);
        }
    }

    @Override
    public void close() {
        acceptor.close(); // the listening fd too
        listenFd = -1;
        try {
            if (!socketPath.unpublish()) {
                log.warn("{} no longer names the socket this agent published; left in place", path);
            }
        } catch (IOException e) {
            log.warn("could not remove {}: {}", path, e.getMessage());
        }
    }

    @Override
    public String describe() {
        return "unix:" + path;
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
