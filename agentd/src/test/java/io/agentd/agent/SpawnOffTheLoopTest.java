package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.session.Sessions;
import io.agentd.agent.session.SlowSpawns;
import io.agentd.agent.spawn.Spawner;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.transport.HostEndpoint;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.PortLink;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A spawn held up (as on a hung file system: here the test holds it, on the spawner thread, before
 * the real spawn) holds only its own host's later frames: another host is served meanwhile. Once
 * it goes on, the first host's stdin, sent right behind its request, reaches the command in order.
 * An agent in this JVM with two port connections on socket pairs; real commands.
 */
class SpawnOffTheLoopTest {
    private static final long WAIT_MILLIS = 10_000;

    @Test
    void anotherHostIsServedWhileASpawnIsHeldUpAndTheFirstHostsStdinFollowsItsStart() throws Exception {
        CountDownLatch spawning = new CountDownLatch(1);
        CountDownLatch goOn = new CountDownLatch(1);
        int[] a = io.agentd.agent.transport.SocketPairs.open();
        int[] b = io.agentd.agent.transport.SocketPairs.open();
        try (EventLoop loop = new EventLoop()) {
            Sessions sessions = SlowSpawns.sessions(loop, Spawner.fromSystemProperty(),
                    AgentOptions.parse().sessionDefaults(), () -> {
                        spawning.countDown();
                        try {
                            goOn.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
            Agent agent = new Agent(loop, sessions, new Agent.StartTimes(1, 2), "test",
                    new Agent.LinkSettings(1 << 20, 0, 0), 2);
            for (int[] pair : new int[][] {a, b}) {
                HostEndpoint host = agent.openPort("pair", HostLossPolicy.KILL_SESSIONS);
                loop.execute(() -> host.link().attach(pair[0], PortLink.Splicing.COPY_OUTPUT,
                        PortLink.Resync.SKIP, wasConnected -> host.hostLost(true)));
            }
            Thread loopThread = new Thread(() -> {
                try {
                    loop.run();
                } catch (io.agentd.agent.sys.OsException e) {
                    throw new IllegalStateException(e);
                }
            }, "test-loop");
            loopThread.start();
            try {
                HostSide hostA = new HostSide(a[1]);
                HostSide hostB = new HostSide(b[1]);
                hostA.awaitType(MessageType.CORE_READY);
                hostB.awaitType(MessageType.CORE_READY);
                hostA.send(new Frame(3, MessageType.EXEC_REQUEST, ExecRequest.of("cat")),
                        new Frame(3, MessageType.EXEC_STDIN, new ExecData("hello".getBytes(StandardCharsets.UTF_8))),
                        new Frame(3, MessageType.EXEC_STDIN, new ExecData(new byte[0])));
                assertTrue(spawning.await(WAIT_MILLIS, TimeUnit.MILLISECONDS), "the spawn began");

                hostB.send(new Frame(9, MessageType.CORE_PING, Empty.INSTANCE));
                hostB.awaitType(MessageType.CORE_PONG);
                assertEquals(List.of(MessageType.CORE_READY, MessageType.CORE_PONG), hostB.types(),
                        "host B is answered while host A's spawn is held up");
                assertEquals(List.of(MessageType.CORE_READY), hostA.types(), "host A has nothing yet");

                goOn.countDown();
                hostA.awaitType(MessageType.EXEC_EXITED);
                assertEquals(List.of(MessageType.CORE_READY, MessageType.EXEC_STARTED, MessageType.EXEC_STDOUT,
                        MessageType.EXEC_EXITED), hostA.types());
                assertEquals("hello", new String(((ExecData) hostA.frames.get(2).payload()).data(),
                        StandardCharsets.UTF_8), "its stdin, sent behind the request, reached the command");
                assertEquals(0, ((ExecExited) hostA.frames.get(3).payload()).code());
            } finally {
                goOn.countDown();
                loop.stop();
                loopThread.join(WAIT_MILLIS);
            }
        } finally {
            for (int fd : new int[] {a[0], a[1], b[0], b[1]}) {
                Os.close(fd);
            }
        }
    }



    /** The host's end of one pair: what it sends, and the frames it has read, in order. */
    private static final class HostSide {
        private final int fd;
        private final FrameDecoder decoder = new FrameDecoder();
        private final ByteBuffer in = ByteBuffer.allocateDirect(64 * 1024);
        final List<Frame> frames = new ArrayList<>();

        HostSide(int fd) {
            this.fd = fd;
        }

        void send(Frame... toSend) {
            FrameEncoder encoder = new FrameEncoder();
            ByteBuffer bytes = ByteBuffer.allocateDirect(4096);
            for (Frame frame : toSend) {
                bytes.put(encoder.encode(frame));
            }
            bytes.flip();
            assertEquals(bytes.remaining(), Os.libc().write(fd, bytes, bytes.remaining()));
        }

        List<MessageType> types() {
            return frames.stream().map(Frame::type).toList();
        }

        /** Reads until a frame of {@code type} has come, for at most {@link #WAIT_MILLIS}. */
        void awaitType(MessageType type) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
            while (frames.stream().noneMatch(f -> f.type() == type)) {
                assertTrue(System.nanoTime() < deadline, "no " + type.wire() + " in time; read " + types());
                int n = Os.read(fd, in.clear());
                if (n > 0) {
                    decoder.feed(in.flip());
                    for (Frame f; (f = decoder.next()) != null; ) {
                        frames.add(f);
                    }
                } else {
                    Thread.sleep(5);
                }
            }
        }
    }
}
