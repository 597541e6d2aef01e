package io.agentd.client.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * agentctl's own stdout or stderr, unbuffered, whose every failure is thrown (a {@link java.io.PrintStream}
 * swallows them). A descriptor left non-blocking by whoever opened it (O_NONBLOCK is shared with the
 * parent, e.g. a harness's pipe) is waited on with poll(2) when it is full, and the write goes on where
 * it stopped: EAGAIN is no failure and loses nothing. The first failure is kept ({@link #failure()}).
 *
 * <p>Written through a {@link FileChannel}: unlike {@link FileOutputStream#write(byte[])}, which loops
 * over partial writes and then throws, it tells how much went out before the descriptor was full.
 * Nothing interrupts the threads that write here (an interrupt would close the channel, and the
 * descriptor with it). Public for {@link #isBrokenPipe} only, which cp's tar to stdout asks too.
 */
public final class LocalOutput extends OutputStream {
    private static final int EPIPE = 32;

    private final int fd;
    private final String name;
    private final FileDescriptor descriptor;
    private FileChannel channel; // made at the first write (start-up time); guarded by this
    private volatile IOException failure;

    private LocalOutput(int fd, FileDescriptor descriptor, String name) {
        this.fd = fd;
        this.descriptor = descriptor;
        this.name = name;
    }

    private synchronized FileChannel channel() {
        if (channel == null) {
            channel = new FileOutputStream(descriptor).getChannel();
        }
        return channel;
    }

    static LocalOutput stdout() {
        return new LocalOutput(1, FileDescriptor.out, "standard output");
    }

    static LocalOutput stderr() {
        return new LocalOutput(2, FileDescriptor.err, "standard error");
    }

    /** "standard output" or "standard error", as coreutils name them in "error writing to ...". */
    String name() {
        return name;
    }

    /** The first failure to write, or null. */
    IOException failure() {
        return failure;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
        try {
            FileChannel channel = channel();
            while (buffer.hasRemaining()) {
                if (channel.write(buffer) == 0) {
                    awaitWritable(fd); // EAGAIN: a non-blocking descriptor, full for now
                }
            }
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            }
            throw e;
        }
    }

    /** The line agentctl prints for a failure: "error writing to standard output: No space left on device". */
    String describe(IOException e) {
        return "error writing to " + name + ": " + e.getMessage();
    }

    /**
     * EPIPE: the reader went away (`agentctl ... | head`), which is no error of agentctl's. The JDK
     * words errno with strerror, in the process's locale; so does libc's strerror here.
     */
    public static boolean isBrokenPipe(IOException e) {
        String message = e.getMessage();
        if (message == null) {
            return false;
        }
        if (message.equals("Broken pipe")) {
            return true;
        }
        try {
            return message.equals(Lib.C.strerror(EPIPE));
        } catch (LinkageError | RuntimeException unavailable) {
            return false;
        }
    }

    /** Waits until {@code fd} takes a write (or has an error, which the next write reports). */
    private static void awaitWritable(int fd) throws IOException {
        await(fd, Lib.POLLOUT);
    }

    /**
     * Waits until {@code fd}, a descriptor left non-blocking by whoever opened it, has something to
     * read (or its end, or an error, which the next read reports). agentctl's stdin: a read of such a
     * descriptor returns 0 (FileChannel's "nothing yet"), which is not its end.
     */
    static void awaitReadable(int fd) throws IOException {
        await(fd, Lib.POLLIN);
    }

    private static void await(int fd, short events) throws IOException {
        try {
            ByteBuffer pollfd = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
            pollfd.putInt(0, fd).putShort(4, events).putShort(6, (short) 0);
            // A second at most, and the write tried again: no wait for ever on a wakeup missed.
            Lib.C.poll(pollfd, 1, 1000);
        } catch (LinkageError | RuntimeException unavailable) {
            // No libc binding: wait a little instead.
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting on fd " + fd);
            }
        }
    }

    /** The libc calls, bound by jnr-ffi when first needed (a full non-blocking descriptor, a failure). */
    public interface LibC {
        int poll(@In @Out ByteBuffer fds, long nfds, int timeoutMs);

        String strerror(int errnum);
    }

    private static final class Lib {
        static final short POLLIN = 1;
        static final short POLLOUT = 4;
        static final LibC C = LibraryLoader.create(LibC.class).load("c");
    }
}
