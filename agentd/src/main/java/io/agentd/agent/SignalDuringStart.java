package io.agentd.agent;

/**
 * A SIGTERM or SIGINT that comes while the transports start. The start can wait (a virtio port
 * whose driver has not made it yet is looked for up to 5 s), and the event loop that carries out a
 * signal's shutdown runs only after it: without this, a signal in that wait was acted on only when
 * the wait ended, and a port that never came made it exit 1. The signal handler interrupts the
 * starting thread instead, which ends the wait, and the start exits 128+N. (A transport's start
 * must therefore not block in interruptible NIO channel I/O, which an interrupt would close; today
 * they use libc calls and uninterruptible file reads.)
 */
final class SignalDuringStart {
    private final Thread starter;
    private boolean starting = true;
    private int signal;

    /** {@code starter}: the thread that starts the transports and then runs the loop. */
    SignalDuringStart(Thread starter) {
        this.starter = starter;
    }

    /** From the signal handler: during the start, remembers the first signal and interrupts the starter. */
    synchronized void received(int number) {
        if (starting && signal == 0) {
            signal = number;
            starter.interrupt();
        }
    }

    /**
     * From the starter when the start is over, whether it succeeded or not: from now on signals are the
     * loop's alone. Returns the signal that came during the start (0 if none) and clears the
     * interrupt it sent, so that it cannot reach the loop.
     */
    synchronized int startOver() {
        starting = false;
        if (signal != 0) {
            Thread.interrupted();
        }
        return signal;
    }
}
