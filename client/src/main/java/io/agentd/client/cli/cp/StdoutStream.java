package io.agentd.client.cli.cp;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;

/**
 * stdout for the tar stream: every failure to write it becomes a {@link StdoutFailure}. A
 * {@link PrintStream} (which swallows its errors) is checked with {@link PrintStream#checkError}
 * after each write; agentctl itself gives a stream on file descriptor 1 that throws.
 */
final class StdoutStream extends OutputStream {
    private final OutputStream out;

    StdoutStream(OutputStream out) {
        this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            throw new StdoutFailure(CopyFailure.describe(e), e);
        }
        check();
    }

    @Override
    public void flush() throws IOException {
        try {
            out.flush();
        } catch (IOException e) {
            throw new StdoutFailure(CopyFailure.describe(e), e);
        }
        check();
    }

    private void check() throws StdoutFailure {
        if (out instanceof PrintStream p && p.checkError()) {
            throw new StdoutFailure("write error", null);
        }
    }
}
