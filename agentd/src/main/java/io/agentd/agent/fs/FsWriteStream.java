package io.agentd.agent.fs;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A Write: the host's core.fs.data chunks are copied into {@link FsBuffers} (direct, reused) in a bounded queue on the loop and written
 * in order, a batch at a time, on a worker, at {@code offset} onwards; the host's empty chunk ends
 * it, and the count is checked against {@code len}.
 *
 * <p>What the agent holds is bounded. A host that asked for {@code window} gets core.fs.credit: the
 * first grant is {@link FsSettings#writeWindow()}, and as batches are written the credit is topped
 * up again (once what is queued plus what the host may still send falls to half the window), the
 * scheme of core.exec.stdin.credit; data past the credit fails the Write (ENOBUFS). A host without
 * flow control may have {@link FsSettings#writeBuffer()} queued; past it the Write fails (ENOBUFS).
 * A failed Write is answered at once; nothing after the refused chunk is written (what the file
 * holds is a prefix of what was sent, never a file with holes), the handle is spoiled (an atomic
 * upload then leaves its destination unchanged), and the rest of the host's data is dropped.
 */
final class FsWriteStream implements FsService.Active {
    /** Most bytes one worker batch writes before the loop hears back (and grants more credit). */
    private static final int BATCH_BYTES = 512 * 1024;

    private final FsService service;
    private final long id;
    private final FsRequest request;
    private final FsOp.Write write;
    private final long limit;
    private final FsDigest digest;
    private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();
    private final FsBuffers buffers;
    private FsHandle.File file;
    private long queuedBytes;
    private long received;
    private long written;
    private long granted;
    private boolean writing;
    private boolean eof;
    private boolean ended;

    FsWriteStream(FsService service, long id, FsRequest request, FsOp.Write write) {
        this.service = service;
        this.id = id;
        this.request = request;
        this.write = write;
        this.limit = write.window() ? service.settings().writeWindow() : service.settings().writeBuffer();
        this.digest = request.extended() ? FsDigest.sha256() : null;
        this.buffers = service.buffers();
    }

    /** Checks the handle, then grants the first credit (loop thread). */
    void start() {
        try {
            FsHandle h = service.handles().get(write.handle());
            if (!(h instanceof FsHandle.File f)) {
                throw FsFailure.of(FsFailure.EISDIR, "write on handle " + Long.toUnsignedString(write.handle())
                        + " (" + h.path + ")");
            }
            if (!f.writable) {
                throw new FsFailure(FsFailure.EBADF, "write " + f.path
                        + ": the handle was not opened for writing (os error 9)");
            }
            file = f;
        } catch (FsFailure refused) {
            fail(refused);
            return;
        }
        topUpCredit();
    }

    void onData(byte[] data) {
        if (ended) {
            return;
        }
        if (data.length == 0) {
            eof = true;
            maybeFinish();
            return;
        }
        received += data.length;
        if (write.len() != null && Long.compareUnsigned(received, write.len()) > 0) {
            fail(new FsFailure(FsFailure.EINVAL, "write " + file.path + ": more data than the len of "
                    + Long.toUnsignedString(write.len()) + " bytes; " + written + " bytes written at offset "
                    + Long.toUnsignedString(write.offset()) + ", nothing after (os error 22)"));
            return;
        }
        if (write.window() && received > granted) {
            fail(new FsFailure(FsFailure.ENOBUFS, "write " + file.path + ": data past the credit granted ("
                    + granted + " bytes); " + written + " bytes written, nothing after (os error 105)"));
            return;
        }
        if (queuedBytes + data.length > limit) {
            fail(new FsFailure(FsFailure.ENOBUFS, "write " + file.path + ": data came faster than it could be"
                    + " written (more than " + limit + " bytes waiting; ask for window: true to be told how much"
                    + " to send); " + written + " bytes written, nothing after (os error 105)"));
            return;
        }
        // The decoder reuses a data frame's array once it was handled: keep a copy.
        if (!appendToLast(data)) {
            queue.add(buffers.copyOf(data));
        }
        queuedBytes += data.length;
        writeMore();
    }

    /**
     * Copies {@code data} after the bytes of the last queued buffer when it has room: agentctl sends
     * 64 KiB frames, and four to a pooled buffer keep them direct (no copy through the JDK's
     * temporary buffer, none for the digest) without a queue holding a 256 KiB buffer per frame.
     * A buffer handed to a worker has left the queue, so only the loop touches this one.
     */
    private boolean appendToLast(byte[] data) {
        ByteBuffer last = queue.peekLast();
        if (last == null || last.capacity() - last.limit() < data.length) {
            return false;
        }
        int end = last.limit();
        last.limit(end + data.length).position(end);
        last.put(data).position(0);
        return true;
    }

    /** Hands the queued chunks, up to a batch, to a worker unless one is writing already. */
    private void writeMore() {
        if (writing || queue.isEmpty() || ended) {
            return;
        }
        List<ByteBuffer> batch = new ArrayList<>();
        long bytes = 0;
        while (!queue.isEmpty() && bytes < BATCH_BYTES) {
            ByteBuffer chunk = queue.poll();
            batch.add(chunk);
            bytes += chunk.remaining();
        }
        writing = true;
        long at = write.offset() + written;
        service.work(request, () -> writeBatch(batch, at), (n, failure) -> batchWritten(batch, n, failure));
    }

    /** On a worker: every chunk of the batch, whole, in order from {@code at}. */
    private Long writeBatch(List<ByteBuffer> batch, long at) throws FsFailure {
        long done = 0;
        synchronized (file) {
            if (file.isClosed()) {
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(write.handle()) + " (os error 9)");
            }
            file.checkOffset(write.offset(), "write");
            try {
                for (ByteBuffer chunk : batch) {
                    if (digest != null) {
                        digest.update(chunk);
                    }
                    while (chunk.hasRemaining()) {
                        done += file.write(chunk, at + done);
                    }
                }
            } catch (IOException e) {
                throw FsErrors.from(e, "write " + file.path + " (" + (written + done) + " bytes written)");
            } catch (RuntimeException e) {
                throw FsErrors.from(e, "write " + file.path);
            }
        }
        return done;
    }

    private void batchWritten(List<ByteBuffer> batch, Long n, FsFailure failure) {
        writing = false;
        batch.forEach(buffers::release);
        if (ended) {
            return;
        }
        if (failure != null) {
            fail(failure);
            return;
        }
        written += n;
        queuedBytes -= n;
        topUpCredit();
        writeMore();
        maybeFinish();
    }

    private void maybeFinish() {
        if (!eof || writing || !queue.isEmpty() || ended) {
            return;
        }
        if (write.len() != null && written != write.len()) {
            fail(new FsFailure(FsFailure.EINVAL, "write " + file.path + ": " + written + " bytes came, the len was "
                    + Long.toUnsignedString(write.len()) + " (os error 22)"));
            return;
        }
        ended = true;
        service.finish(id, request, digest == null ? FsResponse.success(null)
                : new FsResponse(true, null, null, null, null, digest.hex()));
    }

    /** Keeps what is queued plus what the host may still send at the window (flow-controlled hosts). */
    private void topUpCredit() {
        if (!write.window() || eof) {
            return;
        }
        long outstanding = granted - received;
        long held = queuedBytes + outstanding;
        if (held <= limit / 2) {
            long grant = limit - held;
            granted += grant;
            service.out().send(new Frame(id, MessageType.FS_CREDIT, new ExecStdinCredit(grant)));
        }
    }

    private void fail(FsFailure failure) {
        ended = true;
        closeDigest();
        queue.forEach(buffers::release);
        queue.clear();
        queuedBytes = 0;
        if (file != null) {
            file.spoil();
        }
        if (!eof) {
            service.absorbRest(id);
        }
        service.finish(id, request, failure.response(request.extended()));
    }

    @Override
    public void abort() {
        ended = true;
        closeDigest();
        queue.forEach(buffers::release);
        queue.clear();
        if (file != null) {
            file.spoil();
        }
    }

    /** Frees the digest's native context (safe while a worker's batch still updates it). */
    private void closeDigest() {
        if (digest != null) {
            digest.close();
        }
    }
}
