package io.agentd.testkit;

import java.io.IOException;

/**
 * A guest VM could not be had: the image is missing or not a guest image, QEMU is not installed,
 * QEMU exited or the agent was not ready in time. The message says which path or program, what is
 * wrong with it and, for a boot that failed, the tail of the console and what QEMU printed.
 */
public final class GuestVmException extends IOException {
    private static final long serialVersionUID = 1L;

    public GuestVmException(String message) {
        super(message);
    }

    public GuestVmException(String message, Throwable cause) {
        super(message, cause);
    }
}
