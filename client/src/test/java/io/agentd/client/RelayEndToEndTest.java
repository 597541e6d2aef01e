package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.relay.IdRange;
import io.agentd.client.relay.RawClient;
import io.agentd.client.relay.Relay;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real agent behind a relay: the relay's "port" is the agent's own unix socket (a stream like a
 * virtio-serial chardev's), and the clients are {@link AgentClient}s and raw sockets.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static Relay relayInFrontOf(AgentdProcess agentd, Path dir) throws Exception {
        Relay relay = Relay.start(agentd.socket, dir.resolve("relay.sock"));
        relay.awaitAgentReady(WAIT);
        return relay;
    }

    @Test
    void eachClientIsGreetedWithItsRangeThenTheAgentsReady(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); Relay relay = relayInFrontOf(agentd, dir);
             RawClient first = RawClient.connect(relay.listenPath());
             RawClient second = RawClient.connect(relay.listenPath())) {
            assertEquals(IdRange.slot(0), first.readGreeting());
            assertEquals(IdRange.slot(1), second.readGreeting());
            Frame ready = first.receive();
            assertEquals(MessageType.CORE_READY, ready.type());
            assertEquals(ready, second.receive(), "the same cached core.ready");
            try (AgentClient client = AgentClient.connect(relay.listenPath(), WAIT)) {
                assertEquals(IdRange.slot(2), client.relayRange());
                assertTrue(client.ready().supports(Ready.FEATURE_STDIN_WINDOW), "the agent's own ready came through");
                ExecResult r = client.run(ExecRequest.of("echo", "through the relay"), WAIT);
                assertEquals("through the relay\n", new String(r.stdout(), StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void aSessionDetachedThroughTheRelayOutlivesItsClientAndAnotherClientFinishesIt(@TempDir Path dir)
            throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); Relay relay = relayInFrontOf(agentd, dir)) {
            io.agentd.protocol.payload.SessionDetached d;
            try (AgentClient first = AgentClient.connect(relay.listenPath(), WAIT)) {
                assertTrue(first.agentDetachesSessions(), "the agent's feature came through the relay");
                ExecSession s = first.start(ExecRequest.of("/bin/sh", "-c", "echo one; read x; echo \"two $x\""));
                assertEquals("one\n", new String(s.nextOutput(WAIT).data(), StandardCharsets.UTF_8));
                d = s.detach(WAIT);
                assertEquals(4, d.offset());
            } // the relay tells the agent this client left: its range's sessions are killed, not this one
            try (AgentClient second = AgentClient.connect(relay.listenPath(), WAIT)) {
                ExecSession s = second.attach(d.session(), d.offset());
                s.awaitStarted(WAIT);
                s.writeStdin("x\n".getBytes(StandardCharsets.UTF_8));
                s.closeStdin();
                assertEquals("two x\n", new String(s.nextOutput(WAIT).data(), StandardCharsets.UTF_8));
                assertEquals(0, s.awaitExit(WAIT).code());
            }
        }
    }

    @Test
    void interleavedSessionsOfSeveralClientsEachGetTheirOwnOutput(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); Relay relay = relayInFrontOf(agentd, dir)) {
            List<AgentClient> clients = new ArrayList<>();
            List<ExecSession> sessions = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            try {
                for (int c = 0; c < 4; c++) {
                    clients.add(AgentClient.connect(relay.listenPath(), WAIT));
                }
                for (int round = 0; round < 5; round++) {
                    for (int c = 0; c < clients.size(); c++) {
                        String tag = "c" + c + "-s" + round;
                        sessions.add(clients.get(c).start(ExecRequest.of("sh", "-c",
                                "for i in 1 2 3 4 5; do echo " + tag + "-$i; sleep 0.02; done")));
                        expected.add(tag);
                    }
                }
                for (int i = 0; i < sessions.size(); i++) {
                    ExecSession s = sessions.get(i);
                    assertEquals(0, s.awaitExit(WAIT).code());
                    StringBuilder out = new StringBuilder();
                    Output o;
                    while ((o = s.nextOutput(WAIT)) != null) {
                        out.append(new String(o.data(), StandardCharsets.UTF_8));
                    }
                    String tag = expected.get(i);
                    assertEquals(tag + "-1\n" + tag + "-2\n" + tag + "-3\n" + tag + "-4\n" + tag + "-5\n", out.toString());
                }
            } finally {
                clients.forEach(AgentClient::close);
            }
        }
    }

    @Test
    void anIdOutsideTheClientsRangeIsRefusedByTheRelayAndTheClientStays(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); Relay relay = relayInFrontOf(agentd, dir);
             RawClient c = RawClient.connect(relay.listenPath())) {
            IdRange mine = c.readGreeting();
            c.receive(); // ready
            long theirs = IdRange.slot(5).start();
            c.send(new Frame(theirs, MessageType.EXEC_REQUEST, ExecRequest.of("touch", dir.resolve("ran").toString())));
            Frame refusal = c.receive();
            assertEquals(theirs, refusal.id());
            assertEquals(MessageType.CORE_ERROR, refusal.type());
            ErrorPayload e = (ErrorPayload) refusal.payload();
            assertEquals("invalid_session", e.kind());
            assertEquals("core.exec.request", e.offendingType());
            assertTrue(e.message().contains(mine.toString()), e.message());
            // through the relay, id 0 carries core.shutdown and a client's own hold notices, not a ping
            c.send(new Frame(0, MessageType.CORE_PING, Empty.INSTANCE));
            Frame zero = c.receive();
            assertEquals(0, zero.id());
            assertEquals("invalid_session", ((ErrorPayload) zero.payload()).kind());
            // the client is still served, and the refused request never reached the agent
            c.send(new Frame(mine.start(), MessageType.CORE_PING, Empty.INSTANCE));
            assertEquals(new Frame(mine.start(), MessageType.CORE_PONG, Empty.INSTANCE), c.receive());
            assertTrue(!java.nio.file.Files.exists(dir.resolve("ran")), "nothing was forwarded");
        }
    }

    @Test
    void the129thClientIsToldTheRelayIsFullAndAFreedSlotTakesTheNext(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); Relay relay = relayInFrontOf(agentd, dir)) {
            List<RawClient> held = new ArrayList<>();
            try {
                for (int i = 0; i < IdRange.SLOTS; i++) {
                    RawClient c = RawClient.connect(relay.listenPath());
                    assertNotNull(c.readGreeting());
                    held.add(c);
                }
                ConnectionRefusedException full = assertThrows(ConnectionRefusedException.class,
                        () -> AgentClient.connect(relay.listenPath(), WAIT));
                assertTrue(full.getMessage().contains("full") && full.getMessage().contains("128"), full.getMessage());
                held.remove(0).close();
                for (long deadline = System.nanoTime() + WAIT.toNanos(); relay.clientCount() > 127; ) {
                    assertTrue(System.nanoTime() < deadline, "the relay saw the client leave");
                    Thread.sleep(10);
                }
                try (AgentClient next = AgentClient.connect(relay.listenPath(), WAIT)) {
                    assertEquals(IdRange.slot(0), next.relayRange());
                    assertEquals(0, next.run(ExecRequest.of("true"), WAIT).exitCode());
                }
            } finally {
                for (RawClient c : held) {
                    c.close();
                }
            }
        }
    }

    @Test
    void theAgentGoingAwayFailsEveryClientWithConnectionLost(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); Relay relay = relayInFrontOf(agentd, dir);
             AgentClient a = AgentClient.connect(relay.listenPath(), WAIT);
             AgentClient b = AgentClient.connect(relay.listenPath(), WAIT)) {
            ExecSession sa = a.start(ExecRequest.of("sleep", "60"));
            ExecSession sb = b.start(ExecRequest.of("sleep", "60"));
            sa.awaitStarted(WAIT);
            sb.awaitStarted(WAIT);
            agentd.kill();
            assertThrows(ConnectionLostException.class, () -> sa.awaitExit(WAIT));
            assertThrows(ConnectionLostException.class, () -> sb.awaitExit(WAIT));
            Relay.Ending end = relay.awaitEnd(WAIT);
            assertTrue(end.portLost(), end.toString());
        }
    }

    @Test
    void aHundredClientsTenExecsEach(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); Relay relay = relayInFrontOf(agentd, dir)) {
            ExecutorService pool = Executors.newFixedThreadPool(100);
            try {
                List<Future<Integer>> done = new ArrayList<>();
                for (int c = 0; c < 100; c++) {
                    int client = c;
                    done.add(pool.submit(() -> {
                        try (AgentClient ac = AgentClient.connect(relay.listenPath(), WAIT)) {
                            for (int i = 0; i < 10; i++) {
                                String word = client + "-" + i;
                                ExecResult r = ac.run(ExecRequest.of("echo", word), WAIT);
                                assertEquals(word + "\n", new String(r.stdout(), StandardCharsets.UTF_8));
                                assertEquals(0, r.exitCode());
                            }
                        }
                        return client;
                    }));
                }
                for (Future<Integer> f : done) {
                    f.get(100, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
