package io.agentd.client.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * A unix socket as a blocking {@link StreamChannel}, built on the JDK's channel in non-blocking
 * mode: a blocking NIO channel is closed when a thread reading or writing it is interrupted (or
 * starts with its interrupt flag set), so one caller cancelled by its executor, or cleaning up after
 * an InterruptedException, would end the connection of every session on it. Here a read or write
 * that cannot go on waits in a selector instead, which an interrupt only wakes: the wait goes on
 * (a frame cut in the middle would break the stream all the same), and the thread's interrupt flag
 * is left set for its caller. {@link #close} ends every wait with {@link AsynchronousCloseException},
 * as a blocking channel's close does.
 */
final class SocketStream implements StreamChannel {
    private final SocketChannel channel;
    /** Where the one reader waits for input. */
    private final Selector readable;
    /**
     * Where a writer waits for room: opened by the first write that finds none (with the agent's
     * stdin credit most connections never do; each selector costs two descriptors).
     */
    private volatile Selector writable;
    /**
     * Whether the last read took less than it had room for, so found the socket empty: the next read
     * waits in the selector first instead of asking the socket for bytes it most likely does not have
     * yet (a reader that has dispatched what came reads again at once). Only a guess: a read that
     * waits when bytes are there returns from the select at once. Guarded by readLock.
     */
    private boolean drained;
    /** One reader at a time, one writer at a time (each waits in its selector alone). */
    private final Object readLock = new Object();
    private final Object writeLock = new Object();

    SocketStream(SocketChannel channel) throws IOException {
        this.channel = channel;
        Selector r = null;
        try {
            channel.configureBlocking(false);
            r = Selector.open();
            channel.register(r, SelectionKey.OP_READ);
        } catch (IOException | RuntimeException e) {
            closeAll(channel, r, null);
            throw e;
        }
        this.readable = r;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        synchronized (readLock) {
            if (drained && dst.hasRemaining()) {
                await(readable);
            }
            while (true) {
                int room = dst.remaining();
                int n = channel.read(dst);
                if (n != 0 || room == 0) {
                    drained = n > 0 && n < room;
                    return n;
                }
                await(readable);
            }
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        synchronized (writeLock) {
            while (true) {
                int n = channel.write(src);
                if (n != 0 || !src.hasRemaining()) {
                    return n;
                }
                await(writable());
            }
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        synchronized (writeLock) {
            while (true) {
                long n = channel.write(srcs, offset, length);
                if (n != 0 || !anyRemaining(srcs, offset, length)) {
                    return n;
                }
                await(writable());
            }
        }
    }

    @Override
    public long writeBefore(ByteBuffer[] srcs, long deadline) throws IOException {
        synchronized (writeLock) {
            while (true) {
                // One buffer (a whole frame, as a keystroke's) goes by write(2): the channel's
                // gathering write sets up an iovec array through native memory for each call.
                long n = srcs.length == 1 ? channel.write(srcs[0]) : channel.write(srcs);
                if (n != 0 || !anyRemaining(srcs, 0, srcs.length)) {
                    return n;
                }
                long left = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
                if (left <= 0) {
                    return 0;
                }
                await(writable(), left);
            }
        }
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    private static boolean anyRemaining(ByteBuffer[] srcs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (srcs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    /** The writers' selector, opened on first use; called under the write lock. */
    private Selector writable() throws IOException {
        Selector w = writable;
        if (w == null) {
            w = Selector.open();
            try {
                channel.register(w, SelectionKey.OP_WRITE);
            } catch (IOException | RuntimeException e) {
                w.close();
                throw e; // a ClosedChannelException once close() has run
            }
            writable = w;
            if (!channel.isOpen()) {
                w.close(); // close() may have run before it could see this selector
                throw new AsynchronousCloseException();
            }
        }
        return w;
    }

    /**
     * Waits until the socket is ready for {@code selector}'s operation, or closed. An interrupt does
     * not end the wait (select would return at once while the flag is set, so it is taken off for
     * the wait and put back afterwards).
     */
    private void await(Selector selector) throws IOException {
        await(selector, Long.MAX_VALUE);
    }

    /** {@link #await(Selector)} for at most {@code nanos} ({@link Long#MAX_VALUE}: no limit). */
    private void await(Selector selector, long nanos) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            selector.selectedKeys().clear();
            if (nanos == Long.MAX_VALUE) {
                selector.select();
            } else {
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos + 999_999))); // 0 would mean no limit
            }
        } catch (ClosedSelectorException e) {
            throw new AsynchronousCloseException();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (!channel.isOpen()) {
            throw new AsynchronousCloseException();
        }
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    /** Closes the socket; a read or write waiting in a selector ends (closing a selector wakes it). */
    @Override
    public void close() throws IOException {
        closeAll(channel, readable, writable);
    }

    private static void closeAll(SocketChannel channel, Selector readable, Selector writable) throws IOException {
        try {
            channel.close();
        } finally {
            try {
                if (readable != null) {
                    readable.close();
                }
            } finally {
                if (writable != null) {
                    writable.close();
                }
            }
        }
    }
}
