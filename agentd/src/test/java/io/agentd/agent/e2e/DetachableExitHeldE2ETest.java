package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.RelayClientRange;
import io.agentd.protocol.payload.SessionInfo;
import java.io.ByteArrayOutputStream;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A detachable session that ends just as its host leaves keeps its exit for an attach, whatever the
 * host's last frames were (found by a read-only review: its exit went to the host that had left).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DetachableExitHeldE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("detachable-exit-held");

    /**
     * The host's last write ends its detachable session (a SIGKILL), then holds frames the agent
     * answers nothing to (so the exit is handled before they are all dispatched) and, with
     * {@code lastFrameStartsACommand}, one more exec request; then it leaves. The exit runs the
     * gone host's hang-up first; that hang-up dispatched the request, whose start made the hang-up
     * wait, and the exit went to the host that had left: the session was collected, its exit lost.
     */
    @Test
    void anExitHeldWhenTheLeavingHostsLastFramesStartACommand() throws Exception {
        hostLeavesAsItsDetachableSessionEnds(true);
    }

    @Test
    void anExitHeldWhenTheLeavingHostsLastFramesAreOnlyAnswerless() throws Exception {
        hostLeavesAsItsDetachableSessionEnds(false);
    }

    private static void hostLeavesAsItsDetachableSessionEnds(boolean lastFrameStartsACommand) throws Exception {
        long number;
        try (RawHost h = new RawHost(agent.process().connectRaw())) {
            assertEquals(MessageType.CORE_READY, h.next(0).type());
            h.write(h.encoder.encode(new Frame(5, MessageType.EXEC_REQUEST,
                    ExecRequest.of("sleep", "30").withDetachable(true))));
            Frame started = h.next(5);
            assertEquals(MessageType.EXEC_STARTED, started.type(), started.toString());
            number = ((ExecStarted) started.payload()).session();

            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            batch.writeBytes(h.encoder.encode(new Frame(5, MessageType.EXEC_SIGNAL, new ExecSignal(9))));
            byte[] answerless = h.encoder.encode(new Frame(0, MessageType.CORE_RELAY_CLIENT_RESUMED,
                    new RelayClientRange(1000, 1001))); // a range nobody paused: no answer, no change
            for (int i = 0; i < 50_000; i++) {
                batch.writeBytes(answerless);
            }
            if (lastFrameStartsACommand) {
                batch.writeBytes(h.encoder.encode(new Frame(9, MessageType.EXEC_REQUEST, ExecRequest.of("true"))));
            }
            h.write(batch.toByteArray());
            h.ch.shutdownOutput(); // the host has left (its end of input is its departure)
            List<MessageType> onTheSession = h.typesOn(5, 3000);
            assertTrue(!onTheSession.contains(MessageType.EXEC_EXITED),
                    "the exit went to the host that had left: " + onTheSession);
        }
        try (HostConnection second = agent.connectReady()) {
            SessionInfo info = SessionsE2ETest.find(SessionsE2ETest.list(second, 3), number);
            assertNotNull(info, "detachable session " + number + " was collected: its exit is lost");
            assertEquals(SessionInfo.EXITED, info.state());
            assertEquals(137, SessionsE2ETest.attachToEnd(second, 4, number, null).exited().code());
        }
    }

    /** A blocking host with a large send buffer (the batch goes in one write) and a reader thread. */
    private static final class RawHost implements AutoCloseable {
        final SocketChannel ch;
        final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
        final FrameEncoder encoder = new FrameEncoder();
        private final Thread reader;

        RawHost(SocketChannel ch) throws Exception {
            this.ch = ch;
            ch.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
            reader = new Thread(this::read, "raw-host-reader");
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            FrameDecoder decoder = new FrameDecoder();
            ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
            try {
                while (true) {
                    buf.clear();
                    if (ch.read(buf) < 0) {
                        return;
                    }
                    decoder.feed(buf.flip());
                    for (Frame f; (f = decoder.next()) != null; ) {
                        frames.add(f);
                    }
                }
            } catch (Exception closed) {
                // the test closed the channel
            }
        }

        Frame next(long id) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                Frame f = frames.poll(100, TimeUnit.MILLISECONDS);
                if (f != null && f.id() == id) {
                    return f;
                }
            }
            throw new AssertionError("no frame on id " + id);
        }

        /** The types of the frames that come on {@code id} within {@code millis}. */
        List<MessageType> typesOn(long id, long millis) throws InterruptedException {
            List<MessageType> types = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            for (long left; (left = deadline - System.nanoTime()) > 0; ) {
                Frame f = frames.poll(left, TimeUnit.NANOSECONDS);
                if (f != null && f.id() == id) {
                    types.add(f.type());
                }
            }
            return types;
        }

        void write(byte[] bytes) throws Exception {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }

        @Override
        public void close() throws Exception {
            ch.close();
            reader.join(5000);
        }
    }
}
