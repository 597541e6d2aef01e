package io.agentd.client.cli.cp;

import io.agentd.client.cli.LocalOutput;
import java.io.IOException;

/**
 * The tar stream could not be written to stdout ({@code cp :PATH -}): a full disk, a closed pipe.
 * Nothing more can go out, so the copy stops there (exit 1, one line on stderr).
 */
final class StdoutFailure extends IOException {
    private static final long serialVersionUID = 1L;

    StdoutFailure(String why, Throwable cause) {
        super("error writing to standard output: " + why, cause);
    }

    /** The reader went away (EPIPE: `cp :PATH - | head`), which is no error of agentctl's. */
    boolean readerLeft() {
        return getCause() instanceof IOException e && LocalOutput.isBrokenPipe(e);
    }
}
