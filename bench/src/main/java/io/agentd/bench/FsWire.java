package io.agentd.bench;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare fs host on the agent's socket for {@link FsBench} (the client library's files API is not
 * used, so the figures are the agent's and the wire's): frames out under a lock, one reader thread
 * that sends core.fs.data to the transfer's sink, credit to its balance, and everything else to
 * per-id queues.
 */
final class FsWire implements AutoCloseable {
    /** Receives a Read's data on the reader thread. */
    interface Sink {
        void accept(byte[] data);
    }

    private final SocketChannel channel;
    private final FrameEncoder encoder = new FrameEncoder();
    private final Map<Long, BlockingQueue<Frame>> byId = new ConcurrentHashMap<>();
    private final Map<Long, Sink> sinks = new ConcurrentHashMap<>();
    private final Map<Long, long[]> credit = new ConcurrentHashMap<>();
    private final Thread reader;
    /** The data frames' encoding buffer; guarded by {@link #channel}. */
    private ByteBuffer dataOut;
    private volatile Exception failure;
    private long nextId = 1000;

    private FsWire(SocketChannel channel) {
        this.channel = channel;
        this.reader = new Thread(this::read, "fs-bench-reader");
        reader.setDaemon(true);
        reader.start();
    }

    static FsWire connect(Path socket) throws Exception {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        FsWire wire = new FsWire(ch);
        wire.expect(0, MessageType.CORE_READY);
        return wire;
    }

    synchronized long newId() {
        return ++nextId;
    }

    void send(Frame frame) throws IOException {
        synchronized (channel) { // the encoder is not thread-safe either
            ByteBuffer b = ByteBuffer.wrap(encoder.encode(frame));
            while (b.hasRemaining()) {
                channel.write(b);
            }
        }
    }

    FsResponse call(long id, FsOp op) throws Exception {
        send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(op, null, true)));
        return (FsResponse) expect(id, MessageType.FS_RESPONSE).payload();
    }

    void onData(long id, Sink sink) {
        sinks.put(id, sink);
    }

    /** Sends {@code data[from, from+len)} as core.fs.data on {@code id}, never past the credit granted. */
    void sendWithinCredit(long id, byte[] data, int from, int len) throws Exception {
        long[] balance = credit.computeIfAbsent(id, k -> new long[1]);
        int off = from;
        int end = from + len;
        while (off < end) {
            int n;
            synchronized (balance) {
                long deadline = System.nanoTime() + AgentLink.WAIT.toNanos();
                while (balance[0] == 0) {
                    if (System.nanoTime() > deadline || failure != null) {
                        throw new IOException("no fs credit on id " + id, failure);
                    }
                    balance.wait(100);
                }
                n = (int) Math.min(balance[0], end - off);
                balance[0] -= n;
            }
            sendData(id, data, off, n);
            off += n;
        }
    }

    /**
     * One core.fs.data frame, encoded straight into a direct buffer kept for it: one copy of the
     * bytes, no array per frame (the client's own cost must not be what the figure measures).
     */
    private void sendData(long id, byte[] data, int off, int len) throws IOException {
        synchronized (channel) {
            int size = FrameEncoder.maxDataFrameSize(len);
            if (dataOut == null || dataOut.capacity() < size) {
                dataOut = ByteBuffer.allocateDirect(size);
            }
            encoder.encodeDataInto(id, MessageType.FS_DATA, data, off, len, dataOut.clear());
            dataOut.flip();
            while (dataOut.hasRemaining()) {
                channel.write(dataOut);
            }
        }
    }

    long pingNanos(long id) throws Exception {
        long t0 = System.nanoTime();
        send(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
        expect(id, MessageType.CORE_PONG);
        return System.nanoTime() - t0;
    }

    Frame expect(long id, MessageType type) throws Exception {
        Frame f = byId.computeIfAbsent(id, k -> new LinkedBlockingQueue<>()).poll(AgentLink.WAIT.toMillis(),
                TimeUnit.MILLISECONDS);
        if (f == null || f.type() != type) {
            throw new IOException("expected " + type + " on id " + id + ", got " + f, failure);
        }
        return f;
    }

    private void read() {
        FrameDecoder decoder = new FrameDecoder();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        try {
            while (channel.read(buf.clear()) >= 0) {
                decoder.feed(buf.flip());
                for (Frame f; (f = decoder.next()) != null; ) {
                    if (f.type() == MessageType.FS_DATA) {
                        sinks.get(f.id()).accept(((ExecData) f.payload()).data());
                        decoder.recycle(f);
                    } else if (f.type() == MessageType.FS_CREDIT) {
                        long[] balance = credit.computeIfAbsent(f.id(), k -> new long[1]);
                        synchronized (balance) {
                            balance[0] += ((ExecStdinCredit) f.payload()).bytes();
                            balance.notifyAll();
                        }
                    } else {
                        byId.computeIfAbsent(f.id(), k -> new LinkedBlockingQueue<>()).add(f);
                    }
                }
            }
        } catch (Exception e) {
            if (channel.isOpen()) {
                failure = e;
            }
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
