package io.agentd.client;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * {@link ExecSession#stdin()}: each write goes out at once as stdin frames (there is no buffer
 * here, so wrap it in a BufferedOutputStream for many small writes), waiting for the agent's credit
 * when the session has flow control. {@link #close} ends the process's input.
 */
final class SessionStdin extends OutputStream {
    private final ExecSession session;
    private volatile boolean closed;

    SessionStdin(ExecSession session) {
        this.session = session;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("stdin of session " + session.id() + " is closed");
        }
        session.writeStdin(b, off, len);
    }

    /** Ends the input (see {@link ExecSession#closeStdin}); only the first call sends anything. */
    @Override
    public synchronized void close() throws IOException {
        if (!closed) {
            session.closeStdin(); // first: if it fails, later writes say why (the connection), not "closed"
            closed = true;
        }
    }
}
