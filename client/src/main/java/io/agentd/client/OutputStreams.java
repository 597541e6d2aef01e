package io.agentd.client;

/**
 * Output for {@link ExecSession#stdout()} and {@link ExecSession#stderr()}: one bounded
 * {@link OutputPipe} each. A PTY session's output is all on stdout, so its stderr is empty.
 */
final class OutputStreams implements OutputSink {
    final OutputPipe stdout;
    final OutputPipe stderr;
    private final boolean tty;

    OutputStreams(int capacity, boolean tty) {
        this.stdout = new OutputPipe(capacity);
        this.stderr = new OutputPipe(capacity);
        this.tty = tty;
        if (tty) {
            stderr.finish(null);
        }
    }

    /** May wait for the caller to read: the backpressure documented at {@link ExecSession#stdout()}. */
    @Override
    public void deliver(Output output) {
        (output.stream() == Output.Stream.STDOUT || tty ? stdout : stderr).put(output.data());
    }

    @Override
    public void end(AgentException cutShortBy) {
        stdout.finish(cutShortBy);
        stderr.finish(cutShortBy);
    }
}
