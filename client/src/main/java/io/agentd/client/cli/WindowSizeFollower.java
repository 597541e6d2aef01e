package io.agentd.client.cli;

import io.agentd.client.ExecSession;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.Semaphore;
import sun.misc.Signal;

/**
 * -t: sends the local terminal's size to the session's PTY each time the window changes (SIGWINCH),
 * while the session runs.
 */
final class WindowSizeFollower {
    private WindowSizeFollower() {}

    /**
     * SIGWINCH only wakes one thread, which reads the size and sends it: each signal runs on a
     * thread of its own, and handlers that read and sent it themselves could send an older size
     * last (dragging a window sends many), or pile up behind a send the agent does not take.
     * Signals that come while it reads or sends are one more look at the size, not one each. Its
     * first look is at once: a resize between the size read for the request ({@code sent}, before
     * connecting) and this handler (after the open) had no signal left to send it.
     */
    static void follow(LocalTerminal terminal, ExecSession session, int[] sent) {
        Semaphore resized = new Semaphore(1);
        Thread sender = new Thread(() -> {
            try {
                int[] last = sent;
                while (!session.isDone()) {
                    resized.acquire();
                    resized.drainPermits();
                    int[] size = terminal.size();
                    if (size != null && !Arrays.equals(size, last) && !session.isDone()) {
                        session.resize(size[0], size[1]);
                        last = size;
                    }
                }
            } catch (IOException | InterruptedException e) {
                // the session ended meanwhile
            }
        }, "agentctl-resize");
        sender.setDaemon(true);
        sender.start();
        Signal.handle(new Signal("WINCH"), signal -> {
            if (resized.availablePermits() == 0) {
                resized.release();
            }
        });
    }
}
