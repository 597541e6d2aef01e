package io.agentd.client;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The output {@link AgentClient#run} collects, each stream up to a limit: run keeps it all in
 * memory, so a command that prints without end (or a guest that floods) would otherwise grow the
 * caller's heap until it ran out, on the connection's reader thread, which ends every session of
 * the connection. Past the limit nothing more is kept, the session is killed, and run says so:
 * the output is never handed back cut short as if it were whole. Written on the reader thread;
 * read after the exit, which orders them.
 */
final class RunOutput implements OutputListener {
    private final int limit;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    /** The session, once started: killed when a stream passes the limit. */
    private final AtomicReference<ExecSession> session = new AtomicReference<>();
    /** The stream that passed the limit first; null while none has. */
    private volatile Output.Stream overflowed;

    RunOutput(int limit) {
        this.limit = limit;
    }

    @Override
    public void onOutput(Output out) {
        if (overflowed != null) {
            return;
        }
        ByteArrayOutputStream to = out.stream() == Output.Stream.STDOUT ? stdout : stderr;
        if (to.size() + (long) out.data().length > limit) {
            overflowed = out.stream();
            stdout.reset(); // what was kept is of no use to anyone now
            stderr.reset();
            killIfStarted();
            return;
        }
        to.writeBytes(out.data());
    }

    /** After the session is known: kills it if its output passed the limit meanwhile. */
    void started(ExecSession s) {
        session.set(s);
        if (overflowed != null) {
            killIfStarted();
        }
    }

    /** From a thread of its own: this runs on the reader thread, which must not wait for the write lock. */
    private void killIfStarted() {
        ExecSession s = session.get();
        if (s == null) {
            return;
        }
        s.killAside();
    }

    /** Why the output cannot be handed back, or null when it is whole. */
    AgentException overflow(long id) {
        Output.Stream stream = overflowed;
        return stream == null ? null : new AgentException("session " + id + " wrote more than " + limit + " bytes to "
                + stream.name().toLowerCase(java.util.Locale.ROOT) + "; run keeps output in memory, so it was killed"
                + " and its output dropped: use start with an OutputListener, or startWithStreams, for output this large");
    }

    byte[] stdout() {
        return stdout.toByteArray();
    }

    byte[] stderr() {
        return stderr.toByteArray();
    }
}
