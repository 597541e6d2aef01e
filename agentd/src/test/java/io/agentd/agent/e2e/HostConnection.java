package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.ExecStdinError;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host side of a test: raw frames over a unix socket, encoded and decoded by the protocol
 * module. A reader thread sorts incoming frames by id; tests take them per id. The reader can be
 * paused to play a host that stops reading.
 *
 * <p>Stdin credit (core.exec.stdin.credit, and core.fs.credit) is not queued: the reader adds it to the id's balance,
 * which {@link #stdinWithinCredit} spends, and notes where it came in the id's frame order. On ids
 * marked with {@link #countStdinErrors}, stdin.error frames are counted instead of queued (a flood
 * of refused frames would otherwise fill the test's heap).
 */
final class HostConnection implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final SocketChannel channel;
    private final FrameEncoder encoder = new FrameEncoder();
    private final Map<Long, BlockingQueue<Frame>> byId = new ConcurrentHashMap<>();
    /** Pids of sessions whose started frame a test has taken, until their terminal frame. */
    private final Map<Long, Long> startedPids = new ConcurrentHashMap<>();
    private final Thread reader;
    private final AtomicLong bytesRead = new AtomicLong();
    private final Object pauseLock = new Object();
    private boolean paused;
    private volatile boolean closedByPeer;
    private volatile Throwable readerFailure;
    /** Per id: credit granted minus stdin data sent within it (guarded by itself). */
    private final Map<Long, long[]> creditBalance = new ConcurrentHashMap<>();
    /** Per id: the types of the frames received, in order (credit included). */
    private final Map<Long, List<MessageType>> arrivals = new ConcurrentHashMap<>();
    private final Map<Long, AtomicLong> countedStdinErrors = new ConcurrentHashMap<>();
    private final Map<Long, ExecStdinError> lastCountedStdinError = new ConcurrentHashMap<>();

    private HostConnection(SocketChannel channel) {
        this.channel = channel;
        this.reader = new Thread(this::readLoop, "host-reader");
        reader.setDaemon(true);
        reader.start();
    }

    static HostConnection open(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new HostConnection(ch);
    }

    private void readLoop() {
        FrameDecoder decoder = new FrameDecoder();
        ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
        try {
            while (true) {
                synchronized (pauseLock) {
                    while (paused) {
                        pauseLock.wait();
                    }
                }
                buf.clear();
                int n = channel.read(buf);
                if (n < 0) {
                    closedByPeer = true;
                    return;
                }
                bytesRead.addAndGet(n);
                decoder.feed(buf.flip());
                Frame f;
                while ((f = decoder.next()) != null) {
                    received(f);
                }
            }
        } catch (IOException | InterruptedException e) {
            if (channel.isOpen()) {
                readerFailure = e;
            }
        } catch (ProtocolException | RuntimeException e) {
            readerFailure = e;
        }
    }

    private void received(Frame f) {
        List<MessageType> order = arrivals.computeIfAbsent(f.id(), k -> new ArrayList<>());
        synchronized (order) {
            if (order.size() < 10_000) {
                order.add(f.type());
            }
        }
        if (f.type() == MessageType.EXEC_STDIN_CREDIT || f.type() == MessageType.FS_CREDIT) {
            long[] balance = balance(f.id());
            synchronized (balance) {
                balance[0] += ((ExecStdinCredit) f.payload()).bytes();
                balance[1] += ((ExecStdinCredit) f.payload()).bytes();
                balance.notifyAll();
            }
            return;
        }
        AtomicLong counted = countedStdinErrors.get(f.id());
        if (counted != null && f.type() == MessageType.EXEC_STDIN_ERROR) {
            lastCountedStdinError.put(f.id(), (ExecStdinError) f.payload());
            counted.incrementAndGet();
            return;
        }
        queue(f.id()).add(f);
    }

    /** {balance, total granted, cancelled} of an id. */
    private long[] balance(long id) {
        return creditBalance.computeIfAbsent(id, k -> new long[3]);
    }

    /** Makes a writer waiting for credit on {@code id} give up (its request was answered early). */
    void cancelCredit(long id) {
        long[] balance = balance(id);
        synchronized (balance) {
            balance[2] = 1;
            balance.notifyAll();
        }
    }

    /** From now on, stdin.error frames on {@code id} are counted, not queued. */
    void countStdinErrors(long id) {
        countedStdinErrors.putIfAbsent(id, new AtomicLong());
    }

    long stdinErrorsCounted(long id) {
        return countedStdinErrors.get(id).get();
    }

    ExecStdinError lastStdinErrorCounted(long id) {
        return lastCountedStdinError.get(id);
    }

    /** Credit the agent granted on {@code id} so far, in total. */
    long creditGranted(long id) {
        long[] balance = balance(id);
        synchronized (balance) {
            return balance[1];
        }
    }

    /** The types of the frames received on {@code id} so far, credit included, in order. */
    List<MessageType> arrivals(long id) {
        List<MessageType> order = arrivals.computeIfAbsent(id, k -> new ArrayList<>());
        synchronized (order) {
            return List.copyOf(order);
        }
    }

    /**
     * Sends {@code data} as stdin of {@code id} the way a flow-controlled host does: never more than
     * the credit received, in frames of at most {@code frameMax} bytes, waiting for credit when none is left.
     */
    void stdinWithinCredit(long id, byte[] data, int frameMax) throws IOException, InterruptedException {
        dataWithinCredit(id, MessageType.EXEC_STDIN, data, frameMax);
    }

    /** Like {@link #stdinWithinCredit} for any data frame type (core.fs.data within core.fs.credit). */
    void dataWithinCredit(long id, MessageType type, byte[] data, int frameMax) throws IOException, InterruptedException {
        long[] balance = balance(id);
        int off = 0;
        while (off < data.length) {
            int n;
            synchronized (balance) {
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (balance[0] == 0) {
                    if (balance[2] != 0) {
                        throw new InterruptedException("credit on id " + id + " cancelled");
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new AssertionError("no stdin credit on id " + id + " within " + TIMEOUT
                                + " after " + off + " bytes" + failureNote());
                    }
                    balance.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
                n = (int) Math.min(Math.min(balance[0], frameMax), data.length - off);
                balance[0] -= n;
            }
            send(new Frame(id, type, new ExecData(java.util.Arrays.copyOfRange(data, off, off + n))));
            off += n;
        }
    }

    private BlockingQueue<Frame> queue(long id) {
        return byId.computeIfAbsent(id, k -> new LinkedBlockingQueue<>());
    }

    /** Thread-safe: the encoder reuses its buffers, so frames are encoded under the same lock as the write. */
    synchronized void send(Frame frame) throws IOException {
        sendRaw(encoder.encode(frame));
    }

    /** The frames in one write, so the agent reads them together. */
    synchronized void sendTogether(Frame... frames) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (Frame f : frames) {
            all.writeBytes(encoder.encode(f));
        }
        sendRaw(all.toByteArray());
    }

    synchronized void sendRaw(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    void exec(long id, ExecRequest request) throws IOException {
        send(new Frame(id, MessageType.EXEC_REQUEST, request));
    }

    void stdin(long id, byte[] data) throws IOException {
        send(new Frame(id, MessageType.EXEC_STDIN, new ExecData(data)));
    }

    /** The next frame on {@code id}, failing the test after {@code timeout}. */
    Frame next(long id, Duration timeout) throws InterruptedException {
        Frame f = queue(id).poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (f == null) {
            throw new AssertionError("no frame on id " + id + " within " + timeout + failureNote());
        }
        if (f.type() == MessageType.EXEC_STARTED) {
            startedPids.put(id, ((ExecStarted) f.payload()).pid());
        }
        return f;
    }

    Frame next(long id) throws InterruptedException {
        return next(id, TIMEOUT);
    }

    /** The next frame on {@code id}, which must be of {@code type}. */
    Frame expect(long id, MessageType type) throws InterruptedException {
        Frame f = next(id);
        assertEquals(type, f.type(), "frame on id " + id + ": " + f);
        return f;
    }

    /** Expects a core.error of {@code kind} on {@code id}. */
    ErrorPayload expectError(long id, String kind) throws InterruptedException {
        ErrorPayload e = (ErrorPayload) expect(id, MessageType.CORE_ERROR).payload();
        assertEquals(kind, e.kind(), "core.error on id " + id + ": " + e);
        return e;
    }

    /** The next frame on {@code id} within {@code wait}, or null. */
    Frame nextOrNull(long id, Duration wait) throws InterruptedException {
        return queue(id).poll(wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** True when nothing more arrived on {@code id} within {@code quiet}. */
    boolean nothingMore(long id, Duration quiet) throws InterruptedException {
        return queue(id).poll(quiet.toMillis(), TimeUnit.MILLISECONDS) == null;
    }

    /** Sends the request and collects the whole session (see {@link #collect}). */
    SessionResult run(long id, ExecRequest request) throws IOException, InterruptedException {
        exec(id, request);
        return collect(id, TIMEOUT);
    }

    /**
     * Reads one session to its terminal frame, checking the order on the wire: started (or failed)
     * first, output only after started, exactly one exited last.
     */
    SessionResult collect(long id, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<ExecStdinError> stdinErrors = new ArrayList<>();
        long pid = startedPids.getOrDefault(id, -1L);
        while (true) {
            Frame f = next(id, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            switch (f.type()) {
                case EXEC_STARTED -> {
                    assertEquals(-1, pid, "second started on id " + id);
                    pid = ((ExecStarted) f.payload()).pid();
                }
                case EXEC_FAILED -> {
                    assertEquals(-1, pid, "failed after started on id " + id);
                    return new SessionResult(id, -1, new byte[0], new byte[0], null, (ExecFailed) f.payload(),
                            stdinErrors);
                }
                case EXEC_STDOUT, EXEC_STDERR -> {
                    if (pid == -1) {
                        throw new AssertionError("output before started on id " + id);
                    }
                    byte[] data = ((ExecData) f.payload()).data();
                    (f.type() == MessageType.EXEC_STDOUT ? out : err).write(data, 0, data.length);
                }
                case EXEC_STDIN_ERROR -> stdinErrors.add((ExecStdinError) f.payload());
                case EXEC_EXITED -> {
                    assertNotNull(pid == -1 ? null : pid, "exited before started on id " + id);
                    startedPids.remove(id);
                    return new SessionResult(id, pid, out.toByteArray(), err.toByteArray(),
                            (ExecExited) f.payload(), null, stdinErrors);
                }
                default -> throw new AssertionError("unexpected frame on session " + id + ": " + f);
            }
        }
    }

    /**
     * The session on {@code id} ended without a terminal frame (killed with its host, or its relay
     * client): the id may carry a new session's started.
     */
    void forget(long id) {
        startedPids.remove(id);
    }

    /** Stops reading the socket (the agent's writes then back up). */
    void pauseReading() {
        synchronized (pauseLock) {
            paused = true;
        }
    }

    void resumeReading() {
        synchronized (pauseLock) {
            paused = false;
            pauseLock.notifyAll();
        }
    }

    long bytesRead() {
        return bytesRead.get();
    }

    boolean closedByPeer() {
        return closedByPeer;
    }

    /** True once the agent ended the connection: end of input, or a reset (it closed with input unread). */
    boolean disconnected() {
        return closedByPeer || readerFailure instanceof IOException;
    }

    private String failureNote() {
        Throwable t = readerFailure;
        return t == null ? (closedByPeer ? " (agent closed the connection)" : "") : " (reader failed: " + t + ")";
    }

    /**
     * Closes the connection and returns once the agent can see it closed. The JDK closes a channel
     * that a thread is reading in by signalling that thread, and the kernel lets the socket go only
     * when that read returns: until the reader has left, the agent may still find this host
     * connected (measured: right after close() in 143 of 200 tries, never after the join).
     */
    @Override
    public void close() throws IOException {
        channel.close();
        resumeReading();
        try {
            reader.join(TIMEOUT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
