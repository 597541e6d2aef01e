package io.agentd.client.relay;

import java.nio.channels.SelectionKey;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.nio.channels.SocketChannel;

/** One client of the relay: its socket, slot and ids, the frame it is sending, the frames waiting for it. */
final class RelayClient {
    final SocketChannel channel;
    final SelectionKey key;
    final int slot;
    final IdRange range;
    final FrameSplitter input = new FrameSplitter();
    final OutQueue output;
    /** Its queue passed the high-water mark: the relay reads nothing from the agent until it drains. */
    boolean holdsUpAgent;
    /**
     * Its queue passed the high-water mark and the agent was told to hold its output
     * (core.relay.client.paused); it is resumed when the queue drains.
     */
    boolean pausedAtAgent;
    /** Its queue passed the high-water mark with the relay's own refusals: it is not read until it drains. */
    boolean inputPaused;
    boolean gone;
    /** It holds views on the port's read buffer, to be written or copied before the next read. */
    boolean borrowing;
    /** Its socket's fd, for splice ({@link ChannelFd#NONE}: its frames are copied). */
    final int fd;
    /** Where the bodies of its large frames pass (made at its first one); null before, or when none can be made. */
    SplicePipe pipe;
    boolean pipeFailed;
    /**
     * The relay's own frames for it (refusals, a ready) that came while a frame of the agent was
     * being spliced to it: they go after that frame's last byte, never inside it.
     */
    final ArrayDeque<byte[]> heldBack = new ArrayDeque<>();
    long heldBackBytes;
    /**
     * Its frames for the agent read in this turn of the relay's loop, queued for the port at the
     * turn's end (see RelayLoop#releaseStaged), or before its own departure notice if it leaves.
     */
    final List<ByteBuffer> staged = new ArrayList<>();

    RelayClient(SocketChannel channel, SelectionKey key, int slot, ChunkPool chunks) {
        this.output = new OutQueue(chunks);
        this.channel = channel;
        this.key = key;
        this.slot = slot;
        this.range = IdRange.slot(slot);
        this.fd = ChannelFd.of(channel);
    }

    @Override
    public String toString() {
        return "client " + slot + " " + range;
    }
}
