package io.agentd.client;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * One session's output ({@link ExecSession#nextOutput}, {@link ExecSession#stdout()},
 * {@link ExecSession#pauseOutput}): where it goes, chosen at the start (the caller's listener, the
 * chunk queue, or the streams); the hold on the agent's side that the caller asks for; and the end
 * of the output once the session is over.
 */
final class SessionOutput {
    private final AgentConnection connection;
    private final long id;
    /** Null unless the output goes to a listener; named in the messages of the calls that do not apply to it. */
    private final OutputListener listener;
    private final OutputSink sink;
    private final OutputHold.Notices holdNotices;
    /** The agent-side hold that {@link #pause} asks for; null for a session with streams (they hold on their own). */
    private final OutputHold requestedHold;
    /** What the caller last asked: {@link #pause} (true) or {@link #resume}. */
    private volatile boolean pauseRequested;

    /**
     * @param listener       where output goes; null for {@link ExecSession#nextOutput} or streams
     * @param streamCapacity bytes each of the streams may hold; 0 for a session without streams
     */
    SessionOutput(AgentConnection connection, long id, boolean tty, OutputListener listener, int streamCapacity) {
        this.connection = connection;
        this.id = id;
        this.listener = listener;
        this.holdNotices = connection.holdNotices(id);
        if (listener != null) {
            this.sink = new ListenerSink(id, listener);
        } else if (streamCapacity > 0) {
            this.sink = new OutputStreams(id, streamCapacity, tty, holdNotices, connection::refuseWaitOnReader);
        } else {
            this.sink = new OutputChunks();
        }
        this.requestedHold = sink instanceof OutputStreams ? null
                : new OutputHold(id, holdNotices, () -> pauseRequested ? 1 : 0, 1, 0);
    }

    /** {@link ExecSession#nextOutput}. */
    Output next(Duration timeout) throws TimeoutException, InterruptedException {
        if (!(sink instanceof OutputChunks chunks)) {
            throw new IllegalStateException("session " + id + " delivers its output to "
                    + (listener != null ? "a listener" : "its stdout() and stderr() streams"));
        }
        return chunks.next(id, timeout, () -> connection.refuseWaitOnReader("session " + id + "'s output"));
    }

    /** The streams of {@link ExecSession#stdout()} and {@link ExecSession#stderr()}. */
    OutputStreams streams() {
        if (!(sink instanceof OutputStreams streams)) {
            throw new IllegalStateException("session " + id + " was not started with streams ("
                    + (listener != null ? "its output goes to a listener" : "its output is read with nextOutput")
                    + "); start it with AgentClient.startWithStreams");
        }
        return streams;
    }

    /** {@link ExecSession#pauseOutput}: false, with nothing sent, when the agent cannot be asked or {@code sessionEnded}. */
    boolean pause(boolean sessionEnded) {
        OutputHold hold = requestedHoldOrFail();
        if (!holdNotices.available() || sessionEnded) {
            return false;
        }
        pauseRequested = true;
        hold.update();
        return true;
    }

    /** {@link ExecSession#resumeOutput}. */
    void resume() {
        OutputHold hold = requestedHoldOrFail();
        pauseRequested = false;
        hold.update();
    }

    private OutputHold requestedHoldOrFail() {
        if (requestedHold == null) {
            throw new IllegalStateException("session " + id + " has stdout() and stderr() streams, which pause"
                    + " its output when they are full; read them instead");
        }
        return requestedHold;
    }

    /** Output that came on the reader thread. */
    void deliver(Output output) {
        sink.deliver(output);
    }

    /** {@link Receiver#releasesData}. */
    boolean releasesData() {
        return sink.releasesData();
    }

    /** The session ended (its exit has completed) with {@code failure}, or null when it exited. */
    void end(AgentException failure) {
        // A session that ran and then lost its connection (or its agent) may be missing output; a
        // refused or failed start had none, and a detached one had all of its output up to the detach.
        boolean outputWhole = failure instanceof ExecFailedException || failure instanceof AgentErrorException
                || failure instanceof SessionDetachedException;
        sink.end(outputWhole ? null : failure);
        if (requestedHold != null) {
            requestedHold.end(); // the agent must not keep holding an id this client may use again
        }
    }
}
