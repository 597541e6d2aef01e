package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a connection holds in this process, and that close gives it all back: descriptors (the
 * socket and its reader's selector; a writers' selector only once a write had to wait) and the
 * reader thread.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@ExtendWith(SharedAgent.class)
class ConnectionResourcesTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void connectionsCostFewDescriptorsAndGiveBackEveryDescriptorAndThreadAtClose(AgentdProcess agentd) throws Exception {
        agentd.connect().close(); // class loading and the fixture's own descriptors
        settle();
        long fds = descriptors();
        List<AgentClient> open = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            open.add(agentd.connect());
        }
        long perConnection = (descriptors() - fds) / open.size();
        assertTrue(perConnection <= 3, perConnection + " descriptors per idle connection");
        open.forEach(AgentClient::close);

        for (int i = 0; i < 50; i++) {
            try (AgentClient c = agentd.connect()) {
                ExecSession s = c.startWithStreams(ExecRequest.of("sleep", "5"));
                s.awaitStarted(WAIT);
            }
        }
        settle();
        assertEquals(fds, descriptors(), "descriptors left open");
        assertEquals(0, clientThreads(), "reader threads left running");
    }

    private static void settle() throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (clientThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    private static long clientThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("agentd-client")).count();
    }

    private static long descriptors() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count() - 1; // not the listing's own
        }
    }
}
