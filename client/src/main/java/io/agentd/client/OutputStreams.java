package io.agentd.client;

import java.util.function.Consumer;

/**
 * Output for {@link ExecSession#stdout()} and {@link ExecSession#stderr()}: one bounded
 * {@link OutputPipe} each. A PTY session's output is all on stdout, so its stderr is empty.
 *
 * <p>When a stream fills and the agent can hold the session's output ({@link OutputHold}), it is
 * asked to, and the reader goes on with the other sessions; the stream still takes what the agent
 * sent before the request reached it, up to {@link #IN_FLIGHT_BYTES} more. Once both streams are
 * down to a quarter of their capacity, the output flows again. Without that (an older agent, or one
 * that refused), a full stream makes the reader wait, as documented at {@link ExecSession#stdout()}.
 */
final class OutputStreams implements OutputSink {
    /**
     * What may still come for a session after the agent was asked to hold it: the agent's queue to
     * this host (its 1 MiB mark and the read that passed it), the socket buffers, and a relay's
     * queue for this client (which asks the agent to hold the whole client at 4 MiB). More than
     * that means the agent does not hold; the reader then waits, and nothing is lost either way.
     */
    static final long IN_FLIGHT_BYTES = 8L << 20;

    final OutputPipe stdout;
    final OutputPipe stderr;
    private final boolean tty;
    private final OutputHold.Notices notices;
    private final OutputHold hold;

    /** @param refuseWait throws to refuse a read's wait for output, given what it waits for */
    OutputStreams(long id, int capacity, boolean tty, OutputHold.Notices notices, Consumer<String> refuseWait) {
        this.tty = tty;
        this.notices = notices;
        this.hold = new OutputHold(id, notices, this::unread, capacity, capacity / 4);
        this.stdout = new OutputPipe(capacity, hold::update, () -> refuseWait.accept("session " + id + "'s stdout"));
        this.stderr = new OutputPipe(capacity, hold::update, () -> refuseWait.accept("session " + id + "'s stderr"));
        if (tty) {
            stderr.finish(null);
        }
    }

    /** The fuller stream decides: the session's output is held as a whole. */
    private long unread() {
        return Math.max(stdout.queued(), stderr.queued());
    }

    /**
     * May wait for the caller to read: past the capacity when the agent cannot hold the output,
     * else past the capacity and {@link #IN_FLIGHT_BYTES} (see {@link ExecSession#stdout()}).
     */
    @Override
    public void deliver(Output output) {
        OutputPipe pipe = output.stream() == Output.Stream.STDOUT || tty ? stdout : stderr;
        pipe.put(output.data(), notices.available() ? IN_FLIGHT_BYTES : 0);
        hold.update();
    }

    @Override
    public void end(AgentException cutShortBy) {
        stdout.finish(cutShortBy);
        stderr.finish(cutShortBy);
        hold.end();
    }

    /** Whether the agent was last asked to hold this session's output. */
    boolean held() {
        return hold.held();
    }
}
