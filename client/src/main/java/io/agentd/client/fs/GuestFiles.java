package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.Timeouts;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
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
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(GuestFiles.class);
    /** How long a call waits for the agent's answer (or a stream for its next chunk or credit). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
    private static final int COPY_BUFFER_BYTES = 64 * 1024;
    /** The agent's answer to a request it refused at once, as busy (its fs requests at their limit). */
    static final int EAGAIN = 11;
    /** How long a request refused as busy waits before it is asked again. */
    private static final long BUSY_RETRY_MILLIS = 20;
    /**
     * Most entries {@link #list} collects from a directory read page by page (OpenDir, ReadDir): the
     * agent decides how many pages there are, and one that never sent an empty page would fill the heap.
     */
    static final int MAX_LIST_ENTRIES = 1 << 20;
    /**
     * Most characters of those entries' paths and kinds {@link #list} collects (long paths, fewer
     * entries). The kind counts too: the decoder keeps any text there, and an agent's 4 MiB kinds,
     * uncounted, filled the heap a page at a time. Whole paths, as they are held: at 256 Mi one
     * hostile directory (a million 237-character names) took more than 512 MiB of agentctl's heap
     * before cp could refuse it (OutOfMemoryError); at 64 Mi a real one of 500,000 entries under a
     * 120-character path was refused. 128 Mi holds that one, and its worst case, with the names cp
     * takes from it, stays under about 300 MiB.
     */
    static final long MAX_LIST_PATH_CHARS = 128L << 20;

    private final FsTransport transport;
    private final String user;
    private final Duration timeout;

    private GuestFiles(FsTransport transport, String user, Duration timeout) {
        this.transport = Objects.requireNonNull(transport);
        this.user = user;
        this.timeout = timeout;
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
        return new GuestFiles(transport, user, timeout);
    }

    /** The same view with another {@link #timeout()}. */
    public GuestFiles withTimeout(Duration t) {
        if (t.isNegative() || t.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + t);
        }
        return new GuestFiles(transport, user, t);
    }

    public Duration timeout() {
        return timeout;
    }

    /** The user operations run as, or null. */
    public String user() {
        return user;
    }

    /** True when the agent takes the fs extensions (user, write credit, atomic writes, SHA-256). */
    public boolean extensions() {
        return transport.extensions();
    }

    // ---- metadata and names ---------------------------------------------------------------------

    /** Metadata of {@code path}, following a symbolic link. */
    public FsEntryInfo stat(String path) throws IOException {
        return statOf(call(new FsOp.Stat(path, true), path), path);
    }

    /** Metadata of {@code path} itself (of a symbolic link, not its target). */
    public FsEntryInfo lstat(String path) throws IOException {
        return statOf(call(new FsOp.Stat(path, false), path), path);
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
     * directory of more than {@value #MAX_LIST_ENTRIES} entries (or 128 Mi characters of paths) is an
     * {@link AgentException} saying so.
     */
    public List<FsEntryInfo> list(String path) throws IOException {
        FsResponse r;
        try {
            r = call(new FsOp.ListDir(path), path);
        } catch (GuestFileException e) {
            if (!"E2BIG".equals(e.errnoName())) {
                throw e;
            }
            return listByHandle(path); // too many for one answer
        }
        if (r.data() instanceof FsResponseData.Entries entries) {
            return entries.entries();
        }
        throw unexpected("List", path, r);
    }

    private List<FsEntryInfo> listByHandle(String path) throws IOException {
        long handle = handleOf(open(new FsOp.OpenDir(path), path), path);
        List<FsEntryInfo> all;
        try {
            all = readPages(handle, path);
        } catch (IOException | RuntimeException e) {
            // Often an interrupt or a timeout: the close must not wait for an agent that may be hung,
            // nor be refused for the interrupt flag, which left the handle open for good.
            closeAside(handle, path);
            throw e;
        }
        closeHandle(handle, path);
        return all;
    }

    private List<FsEntryInfo> readPages(long handle, String path) throws IOException {
        List<FsEntryInfo> all = new ArrayList<>();
        long chars = 0;
        while (true) {
            FsResponse r = call(new FsOp.ReadDir(handle, null), path);
            if (!(r.data() instanceof FsResponseData.Entries page)) {
                throw unexpected("ReadDir", path, r);
            }
            if (page.entries().isEmpty()) {
                return all;
            }
            for (FsEntryInfo e : page.entries()) {
                chars += (e.path() == null ? 0 : e.path().length()) + (e.kind() == null ? 0 : e.kind().length());
                if (all.size() >= MAX_LIST_ENTRIES || chars > MAX_LIST_PATH_CHARS) {
                    throw new AgentException("list " + path + ": the agent's pages hold more than "
                            + MAX_LIST_ENTRIES + " entries or " + MAX_LIST_PATH_CHARS
                            + " characters of paths and kinds, more than list collects of one directory");
                }
                all.add(e);
            }
        }
    }

    /** Creates the directory {@code path} and any missing parents; {@code mode} null: 0777 less the umask. */
    public void mkdir(String path, Long mode) throws IOException {
        call(new FsOp.Mkdir(path, mode), path);
    }

    /** Removes a file or a symbolic link (a directory: {@link #removeDir}). */
    public void remove(String path) throws IOException {
        call(new FsOp.Remove(path), path);
    }

    /** Removes a directory, with everything in it when {@code recursive} (links are removed, not followed). */
    public void removeDir(String path, boolean recursive) throws IOException {
        call(new FsOp.RemoveDir(path, recursive), path);
    }

    /** rename(2): {@code dst} is replaced if it exists. */
    public void rename(String src, String dst) throws IOException {
        call(new FsOp.Rename(src, dst), src);
    }

    /** Copies a file or a tree inside the guest. */
    public void copy(String src, String dst) throws IOException {
        call(new FsOp.Copy(src, dst), src);
    }

    /** The target of the symbolic link {@code path}, as stored. */
    public String readLink(String path) throws IOException {
        return pathOf(call(new FsOp.ReadLink(path), path), path);
    }

    /** The canonical absolute path of {@code path}. */
    public String realPath(String path) throws IOException {
        return pathOf(call(new FsOp.RealPath(path), path), path);
    }

    /** Creates the symbolic link {@code linkPath} pointing at {@code target} (stored as given). */
    public void symlink(String target, String linkPath) throws IOException {
        call(new FsOp.Symlink(target, linkPath), linkPath);
    }

    /** Sets the attributes {@code attrs} holds (null ones are left alone). */
    public void setStat(String path, boolean followSymlink, FsSetAttrs attrs) throws IOException {
        call(new FsOp.SetStat(path, followSymlink, attrs), path);
    }

    // ---- streams --------------------------------------------------------------------------------

    /** The file's bytes as a stream; close it to release the agent's handle. See {@link GuestInputStream}. */
    public InputStream openRead(String path) throws IOException {
        long handle = handleOf(open(new FsOp.OpenFile(path, FsOpenOptions.reading()), path), path);
        return new GuestInputStream(this, path, handle);
    }

    /**
     * A stream that creates or replaces the file {@code path}: close it to finish (see
     * {@link GuestOutputStream}; {@link GuestOutputStream#abort} to give up).
     */
    public GuestOutputStream openWrite(String path, WriteOptions options) throws IOException {
        boolean ext = transport.extensions();
        boolean atomic = options.atomic() && ext;
        FsOpenOptions open = new FsOpenOptions(false, true, false, true, true, false, options.mode(), atomic);
        // Not open(): a late handle's CloseHandle would end a write open as complete (an atomic
        // upload's empty temporary file renamed over the destination). Its id is retired instead.
        long handle = handleOf(call(new FsOp.OpenFile(path, open), path), path);
        return new GuestOutputStream(this, path, handle, ext, atomic, options.finalAttrs());
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

    // ---- plumbing shared with the streams -------------------------------------------------------

    FsTransport transport() {
        return transport;
    }

    /** Starts a request on a fresh id with this view's user and the extension fields the agent takes. */
    FsId start(FsOp op, FsListener listener) throws IOException {
        return start(op, listener, sendDeadline());
    }

    /** {@link #start(FsOp, FsListener)} whose send gives up at {@code sendDeadline} ({@link Timeouts#NO_DEADLINE}: never). */
    FsId start(FsOp op, FsListener listener, long sendDeadline) throws IOException {
        transport.refuseWaitHere("the agent's answer to " + op.variant()); // before anything is sent
        boolean ext = transport.extensions();
        if (user != null && !ext) {
            throw new AgentException("the agent does not run file operations as another user (its core.ready does"
                    + " not list \"fs_ext\"); nothing was sent");
        }
        return new FsId(transport, transport.start(new FsRequest(op, user, ext), listener, sendDeadline), listener);
    }

    /**
     * When a send of this view gives up on an agent that reads nothing: a request's send and the
     * wait for its answer each have the whole {@link #timeout()}.
     */
    long sendDeadline() {
        return Timeouts.deadline(timeout);
    }

    /** Runs {@code op} and returns its successful response; a failure about {@code path} is thrown. */
    FsResponse call(FsOp op, String path) throws IOException {
        return call(op, path, false, sendDeadline());
    }

    /**
     * @param closeLateHandle see {@link #open}
     * @param sendDeadline    see {@link #start(FsOp, FsListener, long)}
     */
    private FsResponse call(FsOp op, String path, boolean closeLateHandle, long sendDeadline) throws IOException {
        FsCall c = new FsCall();
        FsId id = start(op, c, sendDeadline);
        Runnable giveUp = closeLateHandle ? () -> c.response.thenAccept(late -> closeLate(late, path)) : id::retire;
        FsResponse r = FsCall.await(c.response, timeout, op.variant() + " " + path, giveUp);
        if (!r.ok()) {
            throw GuestFileException.of(path, r);
        }
        return r;
    }

    /**
     * An OpenDir or a read-only OpenFile, as {@link #call}, but a caller that gives up (timeout,
     * interrupt) leaves the id waiting for the answer rather than retiring it: a handle that comes
     * late is closed then (its CloseHandle's answer ignored), from a thread of its own. Retired, a
     * late handle stayed open in the agent for the connection's life, one of the 1024 it allows. An
     * agent that never answers keeps that id. Not for a write open (see {@link #openWrite}).
     */
    private FsResponse open(FsOp op, String path) throws IOException {
        return call(op, path, true, sendDeadline());
    }

    /** Comes on the reader thread: a handle that came after its caller gave up is closed aside. */
    private void closeLate(FsResponse late, String path) {
        if (late.ok() && late.data() instanceof FsResponseData.Handle h) {
            closeAside(h.handle(), path);
        }
    }

    /**
     * Closes {@code handle} from a thread of its own, nobody waiting for it: for the reader (which
     * must not wait for the write lock: a writer may hold it waiting for the agent, which may wait
     * for the reader) and for a caller that failed and must not wait for a hung agent. Without a
     * send deadline, and asked again when the agent is busy (as every close): given up, the handle
     * would stay open for the connection's life, one of the 1024 the agent allows.
     */
    private void closeAside(long handle, String path) {
        Thread closer = new Thread(() -> {
            try {
                closeHandle(handle, path, Timeouts.NO_DEADLINE);
            } catch (IOException | RuntimeException e) {
                log.debug("closing handle {} of {} aside: {}", handle, path, e.toString());
            }
        }, "agentd-fs-close");
        closer.setDaemon(true);
        closer.start();
    }

    void closeHandle(long handle, String path) throws IOException {
        closeHandle(handle, path, sendDeadline());
    }

    /** {@link #closeHandle(long, String)} whose send gives up at {@code sendDeadline}. */
    void closeHandle(long handle, String path, long sendDeadline) throws IOException {
        // A close refused at once as busy did not run: asked again, within the view's timeout, or
        // the handle (and an atomic upload's temporary file) stayed for the connection's life.
        long giveUpAt = System.nanoTime() + timeout().toNanos();
        while (true) {
            try {
                call(new FsOp.CloseHandle(handle), path, false, sendDeadline);
                return;
            } catch (GuestFileException e) {
                if (e.errno() != EAGAIN || System.nanoTime() - giveUpAt > 0) {
                    throw e;
                }
            }
            pauseBeforeRetry(path);
        }
    }

    /** The wait before a request the agent refused as busy is asked again. */
    static void pauseBeforeRetry(String path) throws InterruptedIOException {
        try {
            Thread.sleep(BUSY_RETRY_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the agent was busy with " + path);
        }
    }

    private static FsEntryInfo statOf(FsResponse r, String path) throws AgentException {
        if (r.data() instanceof FsResponseData.Stat s) {
            return s.info();
        }
        throw unexpected("Stat", path, r);
    }

    private static String pathOf(FsResponse r, String path) throws AgentException {
        if (r.data() instanceof FsResponseData.Path p) {
            return p.path();
        }
        throw unexpected("Path", path, r);
    }

    private static long handleOf(FsResponse r, String path) throws AgentException {
        if (r.data() instanceof FsResponseData.Handle h) {
            return h.handle();
        }
        throw unexpected("Handle", path, r);
    }

    private static AgentException unexpected(String wanted, String path, FsResponse r) {
        return new AgentException("the agent answered " + path + " with "
                + (r.data() == null ? "no data" : r.data().variant()) + " where " + wanted + " was due");
    }
}
