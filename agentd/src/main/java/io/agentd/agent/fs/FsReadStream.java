package io.agentd.agent.fs;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A Read: core.fs.data chunks of at most {@link FsSettings#chunkBytes()} on the request's id, then
 * the response. A worker reads one chunk at a time into one of two buffers (direct ones from
 * {@link FsBuffers}, given back when the Read ends, unless the chunks are larger); when a chunk reaches the
 * loop, the read of the next one (into the other buffer) is started before this one is queued on
 * the connection (a copy), so the disk and the socket overlap. The next read starts only while the
 * output is below its high-water mark, so a file of any size costs two chunks of memory and never
 * floods the queue.
 */
final class FsReadStream implements FsService.Active {
    final long id;
    private final FsService service;
    private final FsRequest request;
    private final FsOp.Read read;
    private final ByteBuffer[] buffers = new ByteBuffer[2];
    /** Most bytes one chunk holds. */
    private final int chunk;
    private final FsDigest digest;
    /** Bytes read so far: where the next chunk starts, from the Read's offset. */
    private long readSoFar;
    /** The buffer the next read fills. */
    private int next;
    /** A read is running on a worker. */
    private boolean reading;
    private boolean aborted;

    FsReadStream(FsService service, long id, FsRequest request, FsOp.Read read) {
        this.service = service;
        this.id = id;
        this.request = request;
        this.read = read;
        long want = read.len() == null ? Long.MAX_VALUE : read.len();
        int size = (int) Math.min(service.settings().chunkBytes(), Math.max(want, 1));
        this.chunk = size;
        for (int i = 0; i < 2; i++) {
            // A small Read keeps to arrays of its size: the pool's buffers are for bulk.
            buffers[i] = size > FsBuffers.BYTES / 4 && size <= FsBuffers.BYTES ? service.buffers().take(size)
                    : ByteBuffer.allocate(size);
        }
        this.digest = request.extended() ? FsDigest.sha256() : null;
    }

    /** Starts the read of the next chunk on a worker, unless one is running (loop thread). */
    void next() {
        if (aborted || reading) {
            return;
        }
        reading = true;
        ByteBuffer buffer = buffers[next];
        next ^= 1;
        long at = readSoFar;
        service.work(request, () -> readChunk(buffer, at), (n, failure) -> chunkRead(buffer, n, failure));
    }

    /** On a worker: up to one buffer from {@code at} (bytes into the Read); -1 at the end. */
    private Integer readChunk(ByteBuffer buffer, long at) throws FsFailure {
        FsHandle h = service.handles().get(read.handle());
        if (!(h instanceof FsHandle.File file)) {
            throw FsFailure.of(FsFailure.EISDIR, "read on handle " + Long.toUnsignedString(read.handle())
                    + " (" + h.path + ")");
        }
        long left = read.len() == null ? Long.MAX_VALUE : read.len() - at;
        if (left <= 0) {
            return -1;
        }
        int want = (int) Math.min(chunk, left);
        synchronized (file) {
            if (file.isClosed()) {
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(read.handle()) + " (os error 9)");
            }
            if (!file.readable) {
                throw new FsFailure(FsFailure.EBADF, "read " + file.path + ": the handle was not opened for reading (os error 9)");
            }
            try {
                if (at == 0) {
                    file.checkOffset(read.offset(), "read");
                }
                int n = file.read(buffer.clear().limit(want), read.offset() + at);
                buffer.flip();
                if (n > 0 && digest != null) {
                    digest.update(buffer);
                }
                return n;
            } catch (IOException e) {
                throw FsErrors.from(e, "read " + file.path);
            } catch (RuntimeException e) {
                throw FsErrors.from(e, "read " + file.path);
            }
        }
    }

    /** On the loop: start reading the next chunk, queue this one; or the end. */
    private void chunkRead(ByteBuffer buffer, Integer n, FsFailure failure) {
        reading = false;
        if (aborted) {
            releaseBuffers();
            return;
        }
        if (failure != null) {
            releaseBuffers();
            service.finish(id, request, failure.response(request.extended()));
            return;
        }
        if (n <= 0) {
            FsResponse done = digest == null ? FsResponse.success(null)
                    : new FsResponse(true, null, null, null, null, digest.hex());
            releaseBuffers();
            service.finish(id, request, done);
            return;
        }
        readSoFar += n;
        // The other buffer is free: its chunk was queued (copied) when it came in.
        boolean more = service.out().acceptsOutput();
        if (more) {
            next();
        }
        service.out().sendData(id, MessageType.FS_DATA, buffer);
        if (!more) {
            service.pause(this);
        }
    }

    @Override
    public void abort() {
        aborted = true;
        if (!reading) { // else when the read running comes back
            releaseBuffers();
        }
    }

    /**
     * Gives the buffers back (no read is running, and a chunk sent was copied when it was queued),
     * and frees the digest's native context unless {@link FsDigest#hex} did.
     */
    private void releaseBuffers() {
        if (digest != null) {
            digest.close();
        }
        for (int i = 0; i < 2; i++) {
            if (buffers[i] != null) {
                service.buffers().release(buffers[i]);
                buffers[i] = null;
            }
        }
    }
}
