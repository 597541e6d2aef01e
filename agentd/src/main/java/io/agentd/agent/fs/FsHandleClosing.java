package io.agentd.agent.fs;

import io.agentd.agent.LogText;
import java.util.List;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes the handles whose owner left, off the loop ({@link FsWorkers#closeAside}): a close can
 * wait on a hung mount. Logs through {@link FsService}'s logger, whose lines these were.
 */
final class FsHandleClosing {
    private static final Logger log = LoggerFactory.getLogger(FsService.class);

    private final FsHandles handles;
    private final FsWorkers workers;

    FsHandleClosing(FsHandles handles, FsWorkers workers) {
        this.handles = handles;
        this.workers = workers;
    }

    /** Closes every handle opened by an id {@code ids} takes; returns how many there were. */
    int closeOpenedBy(LongPredicate ids) {
        List<FsHandle> closing = handles.removeOpenedBy(ids);
        if (!closing.isEmpty()) {
            workers.closeAside(() -> closing.forEach(this::abandon));
        }
        return closing.size();
    }

    /** Closes handle {@code number}, opened on {@code id} by a request whose owner left meanwhile. */
    void closeOrphan(long number, long id) {
        FsHandle orphan = handles.removeUnclosed(number, id);
        if (orphan != null) { // else closed with the rest of the owner's handles
            workers.closeAside(() -> abandon(orphan));
        }
    }

    /**
     * Closes a handle whose owner left (off the loop: see {@link FsWorkers#closeAside}); its room in
     * the agent's budget comes back only now, so descriptors a hung close holds stay counted.
     */
    private void abandon(FsHandle h) {
        try {
            h.abandon();
        } catch (FsFailure f) {
            // The path is the host's text: quoted and escaped like every host text in a log line.
            log.warn("closing fs handle {} ({}): {}", h.handle, LogText.quote(h.path.toString()),
                    LogText.message(f.getMessage()));
        } catch (RuntimeException e) {
            log.error("closing fs handle {} failed unexpectedly", h.handle, e); // the others still close
        } finally {
            handles.closed(h);
        }
    }
}
