package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.agentd.client.relay.IdRange;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ping whose caller is interrupted gives its id up, as one that times out does: behind a relay
 * that gives this client four ids, pings interrupted three times over leave the ids free. Before,
 * each interrupted ping kept its id for the connection's life, and the fifth call found none. A
 * call refused for having no type holds none either.
 */
@Timeout(60)
class InterruptedCallIdsTest {
    private static final IdRange FOUR_IDS = new IdRange(1, 5);

    @TempDir
    Path dir;
    private ScriptedPeer peer;

    @BeforeEach
    void start() throws Exception {
        peer = new ScriptedPeer(dir);
    }

    @AfterEach
    void stop() throws Exception {
        peer.close();
    }

    @Test
    void anInterruptedPingHoldsNoId() throws Exception {
        try (AgentClient client = peer.connectBehindRelay(FOUR_IDS)) {
            for (int i = 0; i < 3 * FOUR_IDS.size(); i++) {
                Thread caller = Thread.currentThread();
                CompletableFuture<Throwable> pinging = new CompletableFuture<>();
                Thread t = new Thread(() -> {
                    try {
                        client.ping(Duration.ofSeconds(30));
                        pinging.complete(null);
                    } catch (Throwable e) {
                        pinging.complete(e);
                    }
                });
                t.start();
                try {
                    throw new AssertionError("ping " + i + " ended unanswered: " + pinging.get(200, TimeUnit.MILLISECONDS));
                } catch (java.util.concurrent.TimeoutException waiting) {
                    // waiting for its pong, as it should
                }
                assertEquals(MessageType.CORE_PING, peer.receive().type()); // sent, never answered
                t.interrupt();
                assertInstanceOf(InterruptedException.class, pinging.get(20, TimeUnit.SECONDS), "ping " + i);
                assertEquals(false, caller.isInterrupted());
            }
            CompletableFuture<Frame> last = client.call(MessageType.CORE_PING, Empty.INSTANCE); // an id is free
            Frame ping = peer.receive();
            peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(MessageType.CORE_PONG, last.get(20, TimeUnit.SECONDS).type());
        }
    }

    @Test
    void aCallWithNoTypeHoldsNoId() throws Exception {
        try (AgentClient client = peer.connectBehindRelay(FOUR_IDS)) {
            for (int i = 0; i < 3 * FOUR_IDS.size(); i++) {
                assertThrows(IllegalArgumentException.class, () -> client.call(null, Empty.INSTANCE), "call " + i);
            }
            CompletableFuture<Frame> last = client.call(MessageType.CORE_PING, Empty.INSTANCE); // an id is free
            Frame ping = peer.receive();
            peer.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
            assertEquals(MessageType.CORE_PONG, last.get(20, TimeUnit.SECONDS).type());
        }
    }
}
