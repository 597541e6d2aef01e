package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.ConnectionLostException;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * The guest's file system through an agent connection (the fs family): {@code AgentClient.files()}.
 * Guest paths are absolute. Every failure the agent reports is a {@link GuestFileException} (path,
 * errno, message); a lost connection a {@code ConnectionLostException}; an agent silent for
 * {@link #timeout()} an {@link AgentTimeoutException}; such a call gives up its request id at once, and
 * an answer that comes later is dropped (but an OpenDir or a read-only open keeps its id until the
 * answer comes, so that a handle that comes late is closed). Thread-safe; each stream is for one thread.
 *
 * <p>With an agent that lists {@code fs_ext} the view also runs operations as another user
 * ({@link #as}), flow-controls writes by the agent's credit, replaces files atomically and checks
 * every transfer's SHA-256; with an older agent writes go in bounded pieces, in place, and
 * {@link #as} is refused before anything is sent.
 */
public final class GuestFiles {
    /** How long a call waits for the agent's answer (or a stream for its next chunk or credit). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
    private static final int COPY_BUFFER_BYTES = 64 * 1024;

    /** The view's transport, user and timeout, and how its requests are asked. */
    private final FsRequests requests;

    private GuestFiles(FsTransport transport, String user, Duration timeout) {
        this.requests = new FsRequests(Objects.requireNonNull(transport), user, timeout);
    }

    /** The view over a connection (what {@code AgentClient.files()} returns). */
    public static GuestFiles over(FsTransport transport) {
        return new GuestFiles(transport, null, DEFAULT_TIMEOUT);
    }

    /**
     * The same view, every operation with the rights of {@code user} ({@code USER[:GROUP]}, a name or
     * a number, as exec's user); null: the agent's own. Needs an agent with {@code fs_ext}.
     */
    public GuestFiles as(String user) {
        return new GuestFiles(requests.transport(), user, requests.timeout());
    }

    /** The same view with another {@link #timeout()}. */
    public GuestFiles withTimeout(Duration t) {
        if (t.isNegative() || t.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + t);
        }
        return new GuestFiles(requests.transport(), requests.user(), t);
    }

    public Duration timeout() {
        return requests.timeout();
    }

    /** The user operations run as, or null. */
    public String user() {
        return requests.user();
    }

    /** True when the agent takes the fs extensions (user, write credit, atomic writes, SHA-256). */
    public boolean extensions() {
        return requests.transport().extensions();
    }

    // ---- metadata and names ---------------------------------------------------------------------

    /** Metadata of {@code path}, following a symbolic link. */
    public FsEntryInfo stat(String path) throws IOException {
        return FsAnswers.statOf(requests.call(new FsOp.Stat(path, true), path), path);
    }

    /** Metadata of {@code path} itself (of a symbolic link, not its target). */
    public FsEntryInfo lstat(String path) throws IOException {
        return FsAnswers.statOf(requests.call(new FsOp.Stat(path, false), path), path);
    }

    /** Metadata of {@code path}, or null when it does not exist (ENOENT); a link is not followed. */
    public FsEntryInfo lstatIfExists(String path) throws IOException {
        try {
            return lstat(path);
        } catch (GuestFileException e) {
            if (e.kind() == GuestFileException.Kind.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    /**
     * The entries of the directory {@code path} (links not followed), in the directory's order. A
     * directory of more than {@value DirListing#MAX_LIST_ENTRIES} entries (or 128 Mi characters of paths) is an
     * {@link AgentException} saying so.
     */
    public List<FsEntryInfo> list(String path) throws IOException {
        FsResponse r;
        try {
            r = requests.call(new FsOp.ListDir(path), path);
        } catch (GuestFileException e) {
            if (!"E2BIG".equals(e.errnoName())) {
                throw e;
            }
            return DirListing.byHandle(requests, path); // too many for one answer
        }
        if (r.data() instanceof FsResponseData.Entries entries) {
            return entries.entries();
        }
        throw FsAnswers.unexpected("List", path, r);
    }

    /** Creates the directory {@code path} and any missing parents; {@code mode} null: 0777 less the umask. */
    public void mkdir(String path, Long mode) throws IOException {
        requests.call(new FsOp.Mkdir(path, mode), path);
    }

    /** Removes a file or a symbolic link (a directory: {@link #removeDir}). */
    public void remove(String path) throws IOException {
        requests.call(new FsOp.Remove(path), path);
    }

    /** Removes a directory, with everything in it when {@code recursive} (links are removed, not followed). */
    public void removeDir(String path, boolean recursive) throws IOException {
        requests.call(new FsOp.RemoveDir(path, recursive), path);
    }

    /** rename(2): {@code dst} is replaced if it exists. */
    public void rename(String src, String dst) throws IOException {
        requests.call(new FsOp.Rename(src, dst), src);
    }

    /** Copies a file or a tree inside the guest. */
    public void copy(String src, String dst) throws IOException {
        requests.call(new FsOp.Copy(src, dst), src);
    }

    /** The target of the symbolic link {@code path}, as stored. */
    public String readLink(String path) throws IOException {
        return FsAnswers.pathOf(requests.call(new FsOp.ReadLink(path), path), path);
    }

    /** The canonical absolute path of {@code path}. */
    public String realPath(String path) throws IOException {
        return FsAnswers.pathOf(requests.call(new FsOp.RealPath(path), path), path);
    }

    /** Creates the symbolic link {@code linkPath} pointing at {@code target} (stored as given). */
    public void symlink(String target, String linkPath) throws IOException {
        requests.call(new FsOp.Symlink(target, linkPath), linkPath);
    }

    /** Sets the attributes {@code attrs} holds (null ones are left alone). */
    public void setStat(String path, boolean followSymlink, FsSetAttrs attrs) throws IOException {
        requests.call(new FsOp.SetStat(path, followSymlink, attrs), path);
    }

    // ---- streams --------------------------------------------------------------------------------

    /** The file's bytes as a stream; close it to release the agent's handle. See {@link GuestInputStream}. */
    public InputStream openRead(String path) throws IOException {
        long handle = FsAnswers.handleOf(requests.open(new FsOp.OpenFile(path, FsOpenOptions.reading()), path), path);
        return new GuestInputStream(requests, path, handle);
    }

    /**
     * A stream that creates or replaces the file {@code path}: close it to finish (see
     * {@link GuestOutputStream}; {@link GuestOutputStream#abort} to give up).
     */
    public GuestOutputStream openWrite(String path, WriteOptions options) throws IOException {
        boolean ext = requests.transport().extensions();
        boolean atomic = options.atomic() && ext;
        FsOpenOptions open = new FsOpenOptions(false, true, false, true, true, false, options.mode(), atomic);
        // Not requests.open(): a late handle's CloseHandle would end a write open as complete (an atomic
        // upload's empty temporary file renamed over the destination). Its id is retired instead.
        long handle = FsAnswers.handleOf(requests.call(new FsOp.OpenFile(path, open), path), path);
        return new GuestOutputStream(requests, path, handle, ext, atomic, options.finalAttrs());
    }

    // ---- whole files ----------------------------------------------------------------------------

    /**
     * Copies the local file {@code local} to the guest file {@code guestPath} (created or replaced,
     * atomically where the agent can) and returns the bytes copied. {@code progress} (may be null)
     * hears of each piece sent. A failure leaves an atomic destination as it was.
     */
    public long upload(Path local, String guestPath, WriteOptions options, LongConsumer progress) throws IOException {
        try (FileChannel in = FileChannel.open(local, StandardOpenOption.READ)) {
            GuestOutputStream out = openWrite(guestPath, options);
            try {
                ByteBuffer buffer = ByteBuffer.allocate(COPY_BUFFER_BYTES);
                while (in.read(buffer.clear()) >= 0) {
                    out.write(buffer.array(), 0, buffer.position());
                    if (progress != null) {
                        progress.accept(buffer.position());
                    }
                }
            } catch (IOException | RuntimeException e) {
                try {
                    out.abort(); // a local read error: the guest keeps what it had
                } catch (ConnectionLostException lost) {
                    lost.addSuppressed(e); // the loss decides what the caller does; the read error stays with it
                    throw lost;
                }
                throw e;
            }
            out.close();
            return out.written();
        }
    }

    /** {@link #upload(Path, String, WriteOptions, LongConsumer)} with the default options. */
    public long upload(Path local, String guestPath) throws IOException {
        return upload(local, guestPath, WriteOptions.DEFAULT, null);
    }

    /**
     * Copies the guest file {@code guestPath} to {@code local}, which is replaced atomically (the
     * bytes go to a temporary file beside it, renamed over it at the end; a failure leaves it as it
     * was). The new file gets {@code permissions} (less this process's umask, as open(2) applies
     * it); null: the guest file's permission bits. Returns the bytes copied.
     */
    public long download(String guestPath, Path local, Set<PosixFilePermission> permissions, LongConsumer progress)
            throws IOException {
        Set<PosixFilePermission> perms = permissions;
        if (perms == null) {
            perms = permissionsOf(stat(guestPath).mode());
        }
        try (InputStream in = openRead(guestPath)) {
            return LocalFiles.replace(local, perms, in, progress);
        }
    }

    /** {@link #download(String, Path, Set, LongConsumer)} with the guest file's permission bits. */
    public long download(String guestPath, Path local) throws IOException {
        return download(guestPath, local, null, null);
    }

    /** rwx bits of a mode (the low nine). */
    public static Set<PosixFilePermission> permissionsOf(long mode) {
        StringBuilder s = new StringBuilder(9);
        String letters = "rwxrwxrwx";
        for (int bit = 8; bit >= 0; bit--) {
            s.append((mode & (1L << bit)) != 0 ? letters.charAt(8 - bit) : '-');
        }
        return PosixFilePermissions.fromString(s.toString());
    }

    /** Unix seconds as a FileTime (the guest's times are whole seconds); any long, without overflow. */
    public static FileTime time(long seconds) {
        return FileTime.from(seconds, java.util.concurrent.TimeUnit.SECONDS);
    }
}
