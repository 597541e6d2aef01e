package io.agentd.testkit;

import io.agentd.client.ConnectionLostException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** What {@link GuestVm#exec} says when its connection to the agent is lost: whether the guest is gone, and how. */
final class GuestGone {
    private GuestGone() {
    }

    /**
     * {@code lost}, or when QEMU has exited (the relay then closes every connection) the same failure
     * saying so, with the console's tail attached: "closed the connection" alone does not tell a
     * guest that panicked or powered off from an agent that broke.
     */
    static ConnectionLostException explain(ConnectionLostException lost, Process qemu, Path runDir, ConsoleLog console)
            throws InterruptedException {
        // The connection closes as QEMU exits: give the exit a moment to be seen.
        if (!qemu.waitFor(1, TimeUnit.SECONDS)) {
            return lost;
        }
        String how = qemu.exitValue() != 0 ? "QEMU failed or was killed"
                : ConsoleEnd.poweredOff(console.file()) ? "the guest powered off"
                : "the guest ended without powering off: a kernel panic or a reset";
        ConnectionLostException gone = new ConnectionLostException(lost.getMessage() + ": QEMU exited with status "
                + qemu.exitValue() + " (" + how + "); its console is " + console.file(), lost);
        gone.addSuppressed(new GuestDiagnostics(ConsoleEnd.quote(console.file())));
        if (qemu.exitValue() != 0) {
            // QEMU's own words (an assertion, a device error): the console shows nothing of them.
            String said = QemuProcesses.tail(runDir.resolve("qemu.log"), 40);
            if (!said.isBlank()) {
                gone.addSuppressed(new GuestDiagnostics("--- qemu.log, last 40 lines:\n" + said));
            }
        }
        return gone;
    }
}
