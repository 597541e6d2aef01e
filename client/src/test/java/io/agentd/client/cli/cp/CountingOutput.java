package io.agentd.client.cli.cp;

import java.io.IOException;
import java.io.OutputStream;

/** A stdout for tests: counts what reaches it, and fails past {@code limit}, so a copy that writes without bound fails fast. */
final class CountingOutput extends OutputStream {
    final long limit;
    long written;

    CountingOutput(long limit) {
        this.limit = limit;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[1], 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        written += len;
        if (written > limit) {
            throw new IOException("more than " + limit + " bytes written");
        }
    }
}
