package io.agentd.client.cli.cp;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A source file's bytes on their way to the destination: a failure to read them is reported as
 * "error reading SOURCE", not as a failure of the destination that was being written.
 */
final class SourceStream extends FilterInputStream {
    private final String shown;

    SourceStream(InputStream in, String shown) {
        super(in);
        this.shown = shown;
    }

    /** The source as its failures name it (":/PATH", or a host path). */
    String shown() {
        return shown;
    }

    @Override
    public int read() throws IOException {
        try {
            return super.read();
        } catch (IOException e) {
            throw CopyFailure.of("error reading", shown, e);
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        try {
            return in.read(b, off, len);
        } catch (IOException e) {
            throw CopyFailure.of("error reading", shown, e);
        }
    }
}
