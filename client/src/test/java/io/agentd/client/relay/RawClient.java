package io.agentd.client.relay;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A relay client (or the agent's end of the relay's port) played byte by byte by a test, over a
 * real unix socket: it reads the greeting itself and sends any frame, ids outside its range too.
 */
public final class RawClient implements AutoCloseable {
    private final SocketChannel channel;
    private final FrameEncoder encoder = new FrameEncoder();
    private final FrameDecoder decoder = new FrameDecoder();
    private final ByteBuffer in = ByteBuffer.allocate(256 * 1024);
    /** Where {@link #receive} puts the core.clock.sync frames it skips; null: it skips none. */
    private final List<Frame> clockSyncs;

    public RawClient(SocketChannel channel) {
        this(channel, false);
    }

    /**
     * @param asideClockSyncs the agent's end of a relay's port: {@link #receive} sets the relay's
     *                        core.clock.sync frames aside ({@link #clockSyncs}), so that a test that
     *                        is not about them sees the frames it expects where it expects them
     */
    RawClient(SocketChannel channel, boolean asideClockSyncs) {
        this.channel = channel;
        this.clockSyncs = asideClockSyncs ? new CopyOnWriteArrayList<>() : null;
    }

    /** The core.clock.sync frames {@link #receive} set aside so far, in order. */
    List<Frame> clockSyncs() {
        return clockSyncs;
    }

    public static RawClient connect(Path socket) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        return new RawClient(channel);
    }

    /** The first 8 bytes, as a relay's greeting (null if they are not one). */
    public IdRange readGreeting() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(RelayGreeting.BYTES);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new IOException("closed before the greeting");
            }
        }
        return RelayGreeting.parse(b.array());
    }

    public void send(Frame frame) throws IOException {
        sendRaw(encoder.encode(frame));
    }

    public void sendRaw(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** The next frame, a core.clock.sync too; blocks. */
    Frame receiveAny() throws IOException, ProtocolException {
        return receive(false);
    }

    /** The next frame (but a clock sync set aside, see {@link #clockSyncs}); blocks. */
    public Frame receive() throws IOException, ProtocolException {
        return receive(clockSyncs != null);
    }

    private Frame receive(boolean aside) throws IOException, ProtocolException {
        while (true) {
            Frame f = decoder.next();
            if (f != null && aside && f.type() == MessageType.CORE_CLOCK_SYNC) {
                clockSyncs.add(f);
                continue;
            }
            if (f != null) {
                return f;
            }
            in.clear();
            if (channel.read(in) < 0) {
                throw new IOException("closed by the peer");
            }
            decoder.feed(in.flip());
        }
    }

    /**
     * The next frame as it came, length prefix included (but a clock sync set aside, as
     * {@link #receive} does); blocks. Only when {@link #receive} has not read past the frames it
     * returned (it reads ahead when they come together).
     */
    public byte[] receiveFrameBytes() throws IOException {
        if (decoder.buffered() > 0) {
            throw new IllegalStateException("receive() read part of the next frame already");
        }
        while (true) {
            ByteBuffer prefix = readFully(ByteBuffer.allocate(Protocol.LENGTH_BYTES));
            ByteBuffer frame = ByteBuffer.allocate(Protocol.LENGTH_BYTES + prefix.getInt(0));
            byte[] bytes = readFully(frame.put(prefix.flip())).array();
            if (clockSyncs != null) {
                FrameDecoder one = new FrameDecoder();
                one.feed(ByteBuffer.wrap(bytes));
                Frame f;
                try {
                    f = one.next();
                } catch (ProtocolException e) {
                    return bytes; // a frame the test made undecodable on purpose: not a clock sync
                }
                if (f != null && f.type() == MessageType.CORE_CLOCK_SYNC) {
                    clockSyncs.add(f);
                    continue;
                }
            }
            return bytes;
        }
    }

    private ByteBuffer readFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new IOException("closed by the peer");
            }
        }
        return b;
    }

    /** True when the peer closed with nothing more to read. */
    public boolean atEof() throws IOException, ProtocolException {
        if (decoder.next() != null) {
            return false;
        }
        in.clear();
        return channel.read(in) < 0;
    }

    public SocketChannel channel() {
        return channel;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
