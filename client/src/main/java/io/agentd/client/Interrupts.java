package io.agentd.client;

import java.io.IOException;

/** How an interrupt that reached a wait as an IOException is thrown as the InterruptedException a call declares. */
final class Interrupts {
    private Interrupts() {}

    /**
     * An interrupt that reached a call as an IOException ({@code cause}), as the InterruptedException
     * the call declares: the flag is cleared, as throwing one implies (as every wait here does).
     */
    static InterruptedException interruptedBy(IOException cause, String message) {
        Thread.interrupted();
        InterruptedException interrupted = new InterruptedException(message);
        interrupted.initCause(cause);
        return interrupted;
    }
}
