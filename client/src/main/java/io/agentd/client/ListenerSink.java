package io.agentd.client;

import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Output handed to the caller's {@link OutputListener} as it comes; a listener that throws is logged. */
final class ListenerSink implements OutputSink {
    private static final Logger log = LoggerFactory.getLogger(ExecSession.class);

    private final long id;
    private final OutputListener listener;
    /** keepsData threw once (reader thread only). */
    private boolean keepsDataFailed;

    ListenerSink(long id, OutputListener listener) {
        this.id = id;
        this.listener = listener;
    }

    @Override
    public void deliver(Output output) {
        tell(id, listener, OutputListener::onOutput, output);
    }

    /**
     * Tells session {@code id}'s listener {@code what} (its output, or a stdin error or refused frame
     * from {@link SessionErrors}) on the reader thread: a listener that throws is logged, and the
     * reader goes on with the connection's other frames.
     */
    static <T> void tell(long id, OutputListener listener, BiConsumer<OutputListener, T> call, T what) {
        try {
            call.accept(listener, what);
        } catch (RuntimeException e) {
            log.warn("session {}: output listener failed", id, e);
        }
    }

    @Override
    public boolean releasesData() {
        try {
            return !listener.keepsData();
        } catch (RuntimeException e) {
            if (!keepsDataFailed) { // asked for every frame: said once
                keepsDataFailed = true;
                log.warn("session {}: output listener's keepsData failed; its data is kept", id, e);
            }
            return false; // kept: the safe answer, the array is not reused under it
        }
    }

    @Override
    public void end(AgentException cutShortBy) {
        // the listener learns the end from the session's exit
    }
}
