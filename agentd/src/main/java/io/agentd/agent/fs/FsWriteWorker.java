package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsOp;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;

/**
 * The worker's part of a Write ({@link FsWriteStream}): the buffers handed to it
 * ({@link FsWriteQueue}), each whole, in order, at the Write's {@code offset} onwards, each reported
 * to the loop as it is written, without a trip through the loop between buffers (a hand-over per
 * batch left both cores idle much of the time: BENCHMARKS.md, "fs read-ahead"). A turn stops when
 * nothing is handed, or after {@value #BUFFERS_PER_TURN} buffers, so other requests get the worker
 * in turn.
 */
final class FsWriteWorker {
    /** Buffers one worker turn writes at most before it goes back behind other requests' tasks. */
    private static final int BUFFERS_PER_TURN = 16;

    private final FsOp.Write write;
    private final FsDigest digest;
    private final FsWriteQueue queue;
    private final FsBuffers buffers;
    /** Buffers the worker wrote, to the loop in order, to be given back and counted. */
    private final WorkerHandoff<Written> writtenBuffers;
    /** Bytes the worker has written: where its next buffer goes, from the Write's offset. Worker only. */
    private long writtenByWorker;

    /** A buffer in the file, with the bytes it held. */
    record Written(ByteBuffer chunk, int bytes) {}

    /** @param writtenBuffers takes each buffer written on the loop, in order */
    FsWriteWorker(FsOp.Write write, FsDigest digest, FsWriteQueue queue, FsBuffers buffers,
                  WorkerHandoff<Written> writtenBuffers) {
        this.write = write;
        this.digest = digest;
        this.queue = queue;
        this.buffers = buffers;
        this.writtenBuffers = writtenBuffers;
    }

    /**
     * On a worker: one turn of writing into {@code file}, until no buffer is left or the loop
     * stopped it ({@link FsWriteQueue#stop}).
     */
    Boolean writeHanded(FsHandle.File file) throws FsFailure {
        for (int turn = 0; turn < BUFFERS_PER_TURN; turn++) {
            ByteBuffer chunk = queue.take();
            if (chunk == null) {
                break;
            }
            int n = chunk.remaining();
            try {
                writeChunk(file, chunk, write.offset() + writtenByWorker);
            } catch (FsFailure failure) {
                // The buffer stays taken: part of it may be in the file, and a loop that cuts the
                // Write before this turn's end is seen (ENOBUFS) must wait for it, whose failure
                // then answers with the count the file got and the disk's errno.
                buffers.release(chunk);
                throw failure;
            }
            writtenByWorker += n;
            writtenBuffers.hand(new Written(chunk, n)); // before the flag: a loop that sees it clear counts this one
            queue.taken();
        }
        return Boolean.TRUE;
    }

    private void writeChunk(FsHandle.File file, ByteBuffer chunk, long at) throws FsFailure {
        file.busy.lock();
        try {
            if (file.isClosed()) {
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(write.handle()) + " (os error 9)");
            }
            file.checkOffset(write.offset(), "write");
            FsPositions.check(write.offset(), at - write.offset(), "write", file.path);
            long done = 0;
            try {
                if (digest != null) {
                    digest.update(chunk);
                }
                while (chunk.hasRemaining()) {
                    int n = file.write(chunk, at + done);
                    if (n == 0) { // EAGAIN on the O_NONBLOCK descriptor (WaitFreeFiles)
                        throw WaitFreeFiles.writeWouldWait("write " + file.path + " (" + (writtenByWorker + done)
                                + " bytes written)");
                    }
                    done += n;
                }
            } catch (ClosedChannelException e) {
                // CloseHandle or the connection's end closed the handle, which ended this I/O.
                throw new FsFailure(FsFailure.EBADF, "write " + file.path + ": the handle was closed (os error 9)");
            } catch (IOException e) {
                throw FsErrors.from(e, "write " + file.path + " (" + (writtenByWorker + done) + " bytes written)");
            } catch (RuntimeException e) {
                throw FsErrors.from(e, "write " + file.path);
            }
        } finally {
            file.busy.unlock();
        }
    }
}
