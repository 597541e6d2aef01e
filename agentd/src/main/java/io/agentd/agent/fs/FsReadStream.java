package io.agentd.agent.fs;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A Read: core.fs.data chunks of at most {@link FsSettings#chunkBytes()} on the request's id, then
 * the response. One chunk is read at a time, on a worker, into one buffer; the loop queues it on
 * the connection (a copy) and asks for the next only while the output is below its high-water
 * mark, so a file of any size costs one chunk of memory and never floods the queue.
 */
final class FsReadStream implements FsService.Active {
    final long id;
    private final FsService service;
    private final FsRequest request;
    private final FsOp.Read read;
    private final byte[] buffer;
    private final FsDigest digest;
    private long sent;
    private boolean aborted;

    FsReadStream(FsService service, long id, FsRequest request, FsOp.Read read) {
        this.service = service;
        this.id = id;
        this.request = request;
        this.read = read;
        long want = read.len() == null ? Long.MAX_VALUE : read.len();
        this.buffer = new byte[(int) Math.min(service.settings().chunkBytes(), Math.max(want, 1))];
        this.digest = request.extended() ? new FsDigest() : null;
    }

    /** Reads the next chunk on a worker (loop thread). */
    void next() {
        if (aborted) {
            return;
        }
        service.work(request, this::readChunk, this::chunkRead);
    }

    /** On a worker: up to one buffer from the current position; -1 at the end. */
    private Integer readChunk() throws FsFailure {
        FsHandle h = service.handles().get(read.handle());
        if (!(h instanceof FsHandle.File file)) {
            throw FsFailure.of(FsFailure.EISDIR, "read on handle " + Long.toUnsignedString(read.handle())
                    + " (" + h.path + ")");
        }
        long left = read.len() == null ? Long.MAX_VALUE : read.len() - sent;
        if (left <= 0) {
            return -1;
        }
        int want = (int) Math.min(buffer.length, left);
        synchronized (file) {
            if (file.isClosed()) {
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(read.handle()) + " (os error 9)");
            }
            if (!file.readable) {
                throw new FsFailure(FsFailure.EBADF, "read " + file.path + ": the handle was not opened for reading (os error 9)");
            }
            try {
                if (sent == 0) {
                    file.checkOffset(read.offset(), "read");
                }
                int n = file.read(ByteBuffer.wrap(buffer, 0, want), read.offset() + sent);
                if (n > 0 && digest != null) {
                    digest.update(buffer, 0, n);
                }
                return n;
            } catch (IOException e) {
                throw FsErrors.from(e, "read " + file.path);
            } catch (RuntimeException e) {
                throw FsErrors.from(e, "read " + file.path);
            }
        }
    }

    /** On the loop: queue the chunk, then the next one or the end. */
    private void chunkRead(Integer n, FsFailure failure) {
        if (aborted) {
            return;
        }
        if (failure != null) {
            service.finish(id, request, failure.response(request.extended()));
            return;
        }
        if (n <= 0) {
            FsResponse done = digest == null ? FsResponse.success(null)
                    : new FsResponse(true, null, null, null, null, digest.hex());
            service.finish(id, request, done);
            return;
        }
        sent += n;
        service.out().sendData(id, MessageType.FS_DATA, ByteBuffer.wrap(buffer, 0, n));
        if (service.out().acceptsOutput()) {
            next();
        } else {
            service.pause(this);
        }
    }

    @Override
    public void abort() {
        aborted = true;
    }
}
