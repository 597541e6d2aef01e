package io.agentd.client.cli.cp;

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
}
