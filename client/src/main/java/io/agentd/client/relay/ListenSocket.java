package io.agentd.client.relay;

import io.agentd.client.transport.UnixConnect;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

/**
 * The relay's own unix socket, put in place the way the agent puts its own: bound under a temporary
 * name in the same directory, made 0600 (only the relay's user may connect: whoever connects runs
 * commands in the VM), and renamed onto the path once it listens, so the path never names a socket
 * nobody accepts on. It refuses a path that is not a socket (not ours to remove) and one a live
 * listener holds (another relay of the same VM); a stale socket is replaced.
 */
final class ListenSocket {
    /** A live listener answers the probe's connect at once; one that does not within this is stopped. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
    /** The longest path the JDK binds or connects a unix socket to: sun_path less its NUL and one byte. */
    static final int JDK_PATH_MAX = 106;

    private ListenSocket() {}

    static ServerSocketChannel open(Path path) throws IOException {
        path = path.toAbsolutePath();
        checkExisting(path);
        Path temporary = temporaryFor(path, ProcessHandle.current().pid());
        Files.deleteIfExists(temporary);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            bind(server, temporary, path);
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
            checkExisting(path); // again: the path may have changed meanwhile
            Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE);
            return server;
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /**
     * {@code .NAME.PID.new}, which says whose it is, unless that is longer than the JDK binds
     * ({@link #JDK_PATH_MAX} bytes) while the path is not: then {@code .PID} in base 36, at most 6
     * bytes, so that any path whose name has 6 bytes or more can be bound. The agent's SocketPath
     * names its own the same way.
     */
    static Path temporaryFor(Path path, long pid) {
        Path readable = path.resolveSibling("." + path.getFileName() + "." + pid + ".new");
        return fits(readable) ? readable : path.resolveSibling("." + Long.toString(pid, 36));
    }

    private static boolean fits(Path p) {
        return p.toString().getBytes(StandardCharsets.UTF_8).length <= JDK_PATH_MAX;
    }

    /** The JDK's message names neither path ("No such file or directory"): the error says which. */
    private static void bind(ServerSocketChannel server, Path temporary, Path path) throws IOException {
        try {
            server.bind(UnixDomainSocketAddress.of(temporary), 256);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + path + " (bound first as " + temporary.getFileName()
                    + ", then renamed): " + e.getMessage(), e);
        }
    }

    private static void checkExisting(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isSymbolicLink(path) || !isSocket(path)) {
            throw new IOException(path + " exists and is not a socket; not removed (remove it, or choose another path)");
        }
        try (SocketChannel probe = UnixConnect.connect(path, PROBE_TIMEOUT)) {
            throw new IOException(path + " is in use: something is listening on it (another relay?)");
        } catch (UnixConnect.TimedOut listeningButStopped) {
            throw new IOException(path + " is in use: something listens on it but accepts nothing (a stopped relay?)");
        } catch (ConnectException stale) {
            // a socket left by a relay that died: the rename replaces it
        }
    }

    static boolean isSocket(Path path) throws IOException {
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0140000;
    }
}
