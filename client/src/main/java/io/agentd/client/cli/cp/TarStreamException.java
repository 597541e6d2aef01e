package io.agentd.client.cli.cp;

import java.io.IOException;

/**
 * The tar stream on stdin cannot be read on: it is not a tar archive, it was cut short, or a
 * header claims more than a header can hold. Nothing after it is extracted.
 */
final class TarStreamException extends IOException {
    private static final long serialVersionUID = 1L;

    TarStreamException(String message) {
        super(message);
    }
}
