package io.agentd.client.relay;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.function.Supplier;

/**
 * What waits for the agent's port: the clients' frames, and the relay's own (its notices and pings),
 * which go ahead of the clients' frames at the next frame boundary, never inside a frame partly
 * written. Selector thread only.
 *
 * <p>Each buffer added holds whole frames (a client's staged frames, or one frame of the relay's),
 * from its position 0: a client buffer not yet started is a frame boundary. The relay's frames keep
 * their order among themselves, except the ones {@link #addAfter added after some client frames}:
 * a departure notice must follow the departing client's own frames (the agent
 * must see its requests before its departure), but not every other client's. Such frames wait until
 * the client frames queued before them are written, then go ahead of the later ones; a frame of the
 * relay that must follow every departure notice queued so far ({@link #addAfterDeferred}) waits
 * behind them.
 *
 * <p>Without this, a notice went to the end of the one queue, behind every client frame already
 * queued: with one client pipelining thousands of requests, another client's pause reached the agent
 * only after the flood, and meanwhile the agent sent that client's output on until its queue held
 * everyone up; a new client's probe ping and a departure waited as long.
 */
final class PortQueue {
    /** Buffers handed to one gathering write. */
    private static final int GATHER = 64;
    /**
     * The most client bytes one gathering write starts with (at least one buffer): the JDK copies each
     * heap buffer written into a temporary direct one, which a write of 64 queued 4 MiB frames
     * would make 256 MiB.
     */
    private static final long GATHER_BYTES = 1024 * 1024;

    private final ArrayDeque<ByteBuffer> own = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> clientFrames = new ArrayDeque<>();
    /** Frames of the relay waiting for the client bytes before {@code after} to be written, in order. */
    private final List<Deferred> deferred = new ArrayList<>();
    private final ByteBuffer[] batch = new ByteBuffer[GATHER];
    private long ownBytes;
    private long ownWritten;
    private long clientBytes;
    private long clientWritten;
    private long deferredBytes;
    /** The head of {@link #clientFrames} is partly written: nothing else may go before its end. */
    private boolean clientHeadStarted;
    /** Frames of {@link #own} whose bytes are made anew as their write begins ({@link #addOwnStamped}). */
    private final IdentityHashMap<ByteBuffer, Supplier<byte[]>> stamps = new IdentityHashMap<>();

    private static final class Deferred {
        final long after;
        final List<ByteBuffer> frames = new ArrayList<>(2);

        Deferred(long after) {
            this.after = after;
        }
    }

    /** A buffer of whole client frames, after those queued before it. */
    void addClientFrames(ByteBuffer frames) {
        if (!frames.hasRemaining()) {
            return;
        }
        clientBytes += frames.remaining();
        clientFrames.add(frames.slice());
    }

    /** A frame of the relay's own: ahead of every client frame not yet started. */
    void addOwn(ByteBuffer frame) {
        ownBytes += frame.remaining();
        own.add(frame.slice());
    }

    /**
     * A frame of the relay's own, as {@link #addOwn}, whose bytes {@code stamp} makes anew right
     * before its first byte is written (of the same length; bytes of another length are not used,
     * and the frame goes as queued): a time it carries is then the time it went to the port, not the
     * time it was queued behind the rest of a client frame being written. Returns the buffer queued,
     * whose position says whether its write has begun.
     */
    ByteBuffer addOwnStamped(ByteBuffer frame, Supplier<byte[]> stamp) {
        ByteBuffer queued = frame.slice();
        ownBytes += queued.remaining();
        own.add(queued);
        stamps.put(queued, stamp);
        return queued;
    }

    /** Where the client frames queued so far end, counted in client bytes since the start. */
    long clientEnd() {
        return clientWritten + clientBytes;
    }

    /**
     * A frame of the relay's that must follow the client bytes before {@code clientPosition} (a
     * {@link #clientEnd} taken earlier: a departure notice, after the departing client's last frame):
     * it waits for them, then goes ahead of the client frames not yet started.
     */
    void addAfter(long clientPosition, ByteBuffer frame) {
        if (clientPosition <= clientWritten && deferred.isEmpty()) {
            addOwn(frame);
            return;
        }
        int at = deferred.size();
        while (at > 0 && deferred.get(at - 1).after > clientPosition) {
            at--;
        }
        Deferred d;
        if (at > 0 && deferred.get(at - 1).after == clientPosition) {
            d = deferred.get(at - 1);
        } else {
            d = new Deferred(clientPosition);
            deferred.add(at, d);
        }
        d.frames.add(frame.slice());
        deferredBytes += frame.remaining();
    }

    /**
     * A frame of the relay's that must follow every frame it has queued so far, those waiting for
     * client frames included (a restart's ping, which confirms every departure told before it).
     */
    void addAfterDeferred(ByteBuffer frame) {
        if (deferred.isEmpty()) {
            addOwn(frame);
            return;
        }
        deferred.get(deferred.size() - 1).frames.add(frame.slice());
        deferredBytes += frame.remaining();
    }

    /** Every byte waiting, the relay's and the clients'. */
    long bytes() {
        return ownBytes + clientBytes + deferredBytes;
    }

    /** The client bytes waiting. */
    long clientBytes() {
        return clientBytes;
    }

    /** Where the relay's own frames queued so far end, counted in the bytes of them written since the start. */
    long ownEnd() {
        return ownWritten + ownBytes + deferredBytes;
    }

    /** Bytes of the relay's own frames written since the start. */
    long ownWritten() {
        return ownWritten;
    }

    boolean isEmpty() {
        return bytes() == 0;
    }

    /** Writes as much as the channel takes now, the relay's frames first at each boundary; true when all went. */
    boolean flush(GatheringByteChannel channel) throws IOException {
        while (true) {
            promoteDeferred();
            if (clientHeadStarted) {
                if (!writeClients(channel, 1)) {
                    return false;
                }
                continue;
            }
            if (!own.isEmpty()) {
                if (!writeOwn(channel)) {
                    return false;
                }
                continue;
            }
            if (clientFrames.isEmpty()) {
                return true;
            }
            // While a frame of the relay waits for some of them, one buffer at a time: it goes as
            // soon as they are written.
            if (!writeClients(channel, deferred.isEmpty() ? GATHER : 1)) {
                return false;
            }
        }
    }

    private void promoteDeferred() {
        while (!deferred.isEmpty() && deferred.get(0).after <= clientWritten) {
            for (ByteBuffer frame : deferred.remove(0).frames) {
                deferredBytes -= frame.remaining();
                ownBytes += frame.remaining();
                own.add(frame);
            }
        }
    }

    private boolean writeOwn(GatheringByteChannel channel) throws IOException {
        int n = 0;
        long wanted = 0;
        for (ByteBuffer b : own) {
            if (!stamps.isEmpty() && b.position() == 0) {
                restamp(b);
            }
            batch[n++] = b;
            wanted += b.remaining();
            if (n == GATHER) {
                break;
            }
        }
        long moved = channel.write(batch, 0, n);
        java.util.Arrays.fill(batch, 0, n, null);
        while (!own.isEmpty() && !own.peek().hasRemaining()) {
            own.poll();
        }
        ownBytes -= moved;
        ownWritten += moved;
        return moved == wanted;
    }

    /** A frame of {@link #addOwnStamped} about to be written: its bytes made now. */
    private void restamp(ByteBuffer frame) {
        Supplier<byte[]> stamp = stamps.remove(frame);
        if (stamp != null) {
            byte[] now = stamp.get();
            if (now.length == frame.remaining()) {
                frame.duplicate().put(now);
            }
        }
    }

    private boolean writeClients(GatheringByteChannel channel, int most) throws IOException {
        int n = 0;
        long wanted = 0;
        for (ByteBuffer b : clientFrames) {
            batch[n++] = b;
            wanted += b.remaining();
            if (n == most || wanted >= GATHER_BYTES) {
                break;
            }
        }
        long moved = channel.write(batch, 0, n);
        java.util.Arrays.fill(batch, 0, n, null);
        while (!clientFrames.isEmpty() && !clientFrames.peek().hasRemaining()) {
            clientFrames.poll();
        }
        clientHeadStarted = !clientFrames.isEmpty() && clientFrames.peek().position() > 0;
        clientBytes -= moved;
        clientWritten += moved;
        return moved == wanted;
    }
}
