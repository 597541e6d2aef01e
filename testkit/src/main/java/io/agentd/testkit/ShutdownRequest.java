package io.agentd.testkit;

import io.agentd.client.AgentClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** How {@link GuestVm#close} asks the agent to shut down (init then powers the VM off). */
final class ShutdownRequest {
    private ShutdownRequest() {
    }

    /**
     * Sends core.shutdown from a thread of its own, waiting for it no longer than the shutdown timeout:
     * the send takes the client's write lock, which another thread of the test can hold for good (a
     * write the agent no longer reads, left running after a test's timeout), and QEMU must be killed
     * after the timeout whatever happens. A send still stuck then ends when the client is closed.
     * When the kit's client is closed already (by the test, or by the relay after the agent died
     * mid-frame and init restarted it) the shutdown goes on a connection of its own.
     */
    static void send(AgentClient client, Path hostSocket, Duration shutdownTimeout) throws InterruptedException {
        Thread sender = new Thread(() -> {
            try {
                if (client.isOpen()) {
                    client.shutdown();
                } else {
                    try (AgentClient own = AgentClient.connect(hostSocket, shutdownTimeout)) {
                        own.shutdown();
                    }
                }
            } catch (IOException | TimeoutException e) {
                // The connection is gone, or none could be made: QEMU is killed after the timeout.
            } catch (InterruptedException e) {
                // close() gave up waiting for this thread; QEMU is killed.
            }
        }, "guest-vm-shutdown");
        sender.setDaemon(true);
        sender.start();
        sender.join(shutdownTimeout.toMillis());
    }
}
