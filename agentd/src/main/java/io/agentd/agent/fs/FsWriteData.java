package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * Where the host's core.fs.data on one connection's ids goes, loop thread only: to the Write in
 * progress on the id until its empty chunk, or, after a Write that was refused or ended before it,
 * nowhere, dropped quietly ({@link FsAbsorbedWrites}); data neither takes is the caller's to refuse.
 * A frame that may have been a Write's chunk and was lost fails that Write.
 */
final class FsWriteData {
    private final Map<Long, FsWriteStream> writes = new HashMap<>();
    private final FsAbsorbedWrites absorbed = new FsAbsorbedWrites();

    /** A request on {@code id} is taken: data on it from now on is that request's. */
    void newRequest(long id) {
        absorbed.forget(id);
    }

    /** The Write on {@code id} started: the id's data goes to it. */
    void started(long id, FsWriteStream write) {
        writes.put(id, write);
    }

    /** The request on {@code id} was answered or stopped: no Write of its takes data any more. */
    void ended(long id) {
        writes.remove(id);
    }

    /**
     * {@code request} on {@code id} was refused: a Write's data the host already sent is dropped
     * quietly, as for any refused Write.
     */
    void refused(long id, FsRequest request) {
        if (request.op() instanceof FsOp.Write) {
            absorbRest(id);
        }
    }

    /** A Write that ended before the host's empty chunk: its further data is dropped quietly. */
    void absorbRest(long id) {
        absorbed.absorbRest(id);
    }

    /** core.fs.data on {@code id}: whether its Write took it or it was dropped; false when neither. */
    boolean take(long id, byte[] data) {
        FsWriteStream write = writes.get(id);
        if (write != null && !write.tookItsLastChunk()) { // after its empty chunk, data is another's
            write.onData(data);
            return true;
        }
        return absorbed.drops(id, data);
    }

    /**
     * {@code what} came on {@code id}, where a Write may be in progress ({@link FsWriteStream#failOnForeignFrame}).
     *
     * @return whether a Write failed
     */
    boolean failOnForeignFrame(long id, String what) {
        FsWriteStream write = writes.get(id);
        return write != null && write.failOnForeignFrame(what);
    }

    /**
     * Every Write in progress that still takes data fails: a frame the link skipped may have been
     * its chunk ({@link FsService#inputLost}).
     */
    void failOnSkippedFrame() {
        for (FsWriteStream write : new ArrayList<>(writes.values())) {
            write.failOnSkippedFrame();
        }
    }

    /** The owner of {@code ids} is gone: the data of none of them is dropped quietly any more. */
    void forget(LongPredicate ids) {
        absorbed.forget(ids);
    }
}
