package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.GuestFiles;
import io.agentd.client.fs.GuestOutputStream;
import io.agentd.client.fs.WriteOptions;
import io.agentd.client.relay.IdRange;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.Ready;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * File calls whose answer does not come in time: the caller's timeout retires the request's id, so
 * an agent that answers late, or never, holds no id of the connection, and a late answer is dropped.
 * The scripted agent greets the client as a relay that gives it four ids: had timed-out ids stayed
 * registered, a few timed-out calls would leave none, and the next call would fail with
 * IdsExhaustedException before sending anything.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GuestFilesTimeoutTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** For calls nothing answers: they reach it every time, however loaded the machine. */
    private static final Duration SHORT = Duration.ofMillis(100);
    /** For streams whose other calls the scripted agent answers at once, which must come within it. */
    private static final Duration STREAM = Duration.ofSeconds(1);
    private static final IdRange FOUR_IDS = new IdRange(1, 5);

    @TempDir
    Path dir;
    private ScriptedPeer peer;

    @BeforeEach
    void listen() throws IOException {
        peer = new ScriptedPeer(dir);
    }

    @AfterEach
    void close() throws IOException {
        peer.close();
    }

    interface IoCall<T> {
        T call() throws Exception;
    }

    /** What {@code call} threw, on a thread of its own (the test plays the agent meanwhile). */
    private static CompletableFuture<Throwable> failureOf(IoCall<?> call) {
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                call.call();
                thrown.complete(null);
            } catch (Throwable e) {
                thrown.complete(e);
            }
        }, "test-caller");
        t.setDaemon(true);
        t.start();
        return thrown;
    }

    private Frame receive(Class<? extends FsOp> op) throws Exception {
        Frame f = peer.receive();
        assertEquals(MessageType.FS_REQUEST, f.type());
        assertInstanceOf(op, ((FsRequest) f.payload()).op());
        return f;
    }

    private void answer(Frame request, FsResponseData data) throws IOException {
        peer.send(new Frame(request.id(), MessageType.FS_RESPONSE, FsResponse.success(data)));
    }

    private static FsEntryInfo file(String path, long size) {
        return new FsEntryInfo(path, FsEntryInfo.FILE, size, 0100644, 5L, 0, 0, 6L, 5L);
    }

    private static void assertTimedOut(Throwable t, String message) {
        assertInstanceOf(AgentTimeoutException.class, t); // typed: cp stops at it rather than try the next item
        assertTrue(t.getMessage().startsWith(message), t.getMessage()); // not IdsExhaustedException
    }

    /**
     * An open whose caller gave up (here a timeout) closes the handle that comes after: the id
     * waits for the answer, and a late handle gets a CloseHandle. Before, the id was retired, the
     * late handle dropped, and it stayed open in the agent, one of the 1024 it allows.
     */
    @Test
    void aHandleThatComesAfterItsOpenTimedOutIsClosed() throws Exception {
        try (AgentClient client = peer.connectBehindRelay(FOUR_IDS, Ready.FEATURE_FS_EXT)) {
            Throwable t = failureOf(() -> client.files().withTimeout(SHORT).openRead("/slow")).get(20, TimeUnit.SECONDS);
            assertTimedOut(t, "no answer from the agent to OpenFile /slow");
            Frame open = receive(FsOp.OpenFile.class);
            answer(open, new FsResponseData.Handle(77)); // too late for its caller
            Frame close = receive(FsOp.CloseHandle.class);
            assertEquals(77, ((FsOp.CloseHandle) ((FsRequest) close.payload()).op()).handle());
            answer(close, null);
        }
    }

    @Test
    void callsThatTimeOutHoldNoIdAndALateAnswerIsDropped() throws Exception {
        try (AgentClient client = peer.connectBehindRelay(FOUR_IDS, Ready.FEATURE_FS_EXT)) {
            GuestFiles files = client.files().withTimeout(SHORT);
            long lastId = 0;
            for (int i = 0; i < 5 * FOUR_IDS.size(); i++) {
                AgentTimeoutException e = assertThrows(AgentTimeoutException.class, () -> files.stat("/never"));
                assertTimedOut(e, "no answer from the agent to Stat /never");
                assertTrue(e.getMessage().endsWith(" within " + Timeouts.text(SHORT)), e.getMessage()); // not "within 0s"
                lastId = receive(FsOp.Stat.class).id();
            }
            // The last call's answer, too late: nobody takes it, and no later call gets it.
            peer.send(new Frame(lastId, MessageType.FS_RESPONSE,
                    FsResponse.success(new FsResponseData.Stat(file("/never", 1)))));
            CompletableFuture<FsEntryInfo> stat = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.files().withTimeout(WAIT).stat("/answered");
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            answer(receive(FsOp.Stat.class), new FsResponseData.Stat(file("/answered", 7)));
            assertEquals(7, stat.get(WAIT.toSeconds(), TimeUnit.SECONDS).size());
        }
    }

    /** A read that times out gives its Read up; closing the stream gives up the Read still on its way. */
    @Test
    void aReadStreamThatTimesOutAndIsClosedHoldsNoId() throws Exception {
        try (AgentClient client = peer.connectBehindRelay(FOUR_IDS, Ready.FEATURE_FS_EXT)) {
            GuestFiles files = client.files().withTimeout(STREAM);
            for (int i = 0; i < 3; i++) {
                CompletableFuture<Throwable> reading = failureOf(() -> {
                    try (InputStream in = files.openRead("/slow")) {
                        return in.read();
                    }
                });
                answer(receive(FsOp.OpenFile.class), new FsResponseData.Handle(7));
                receive(FsOp.Read.class); // two Reads at a time (GuestInputStream.IN_FLIGHT), never answered
                receive(FsOp.Read.class);
                answer(receive(FsOp.CloseHandle.class), null);
                assertTimedOut(reading.get(WAIT.toSeconds(), TimeUnit.SECONDS), "no data from the agent for /slow");
            }
        }
    }

    /** A write that gets no credit in time is aborted, and its Write's id is given up with it. */
    @Test
    void aWriteThatGetsNoCreditHoldsNoIdOnceAborted() throws Exception {
        try (AgentClient client = peer.connectBehindRelay(FOUR_IDS, Ready.FEATURE_FS_EXT)) {
            GuestFiles files = client.files().withTimeout(STREAM);
            for (int i = 0; i < FOUR_IDS.size() + 1; i++) {
                CompletableFuture<Throwable> writing = failureOf(() -> {
                    try (GuestOutputStream out = files.openWrite("/stuck", WriteOptions.DEFAULT)) {
                        out.write(new byte[10]);
                    }
                    return null;
                });
                answer(receive(FsOp.OpenFile.class), new FsResponseData.Handle(9));
                receive(FsOp.Write.class); // no credit, no answer: the writer times out and aborts
                assertTrue(((ExecData) peer.receive().payload()).isEmpty(), "the abort ends the Write's data");
                Frame spoil = receive(FsOp.Write.class); // the atomic file is marked failed
                assertTrue(((ExecData) peer.receive().payload()).isEmpty());
                peer.send(new Frame(spoil.id(), MessageType.FS_RESPONSE, FsResponse.failure("short write")));
                answer(receive(FsOp.CloseHandle.class), null);
                assertTimedOut(writing.get(WAIT.toSeconds(), TimeUnit.SECONDS), "no write credit from the agent for /stuck");
            }
        }
    }

    /**
     * An upload whose close cannot send in its time (another write holds the connection: stdin to
     * an agent that reads nothing for a while) is aborted all the same: the Write it could not end
     * is retired, and the end of its data, the spoiling Write and the CloseHandle go out from a
     * thread of their own once the connection takes them. Before, the Write's id stayed live and
     * neither the spoil nor the close was sent: the handle and its temporary file stayed open until
     * the connection ended.
     */
    @Test
    void anUploadWhoseCloseCannotBeSentIsAbortedOnceTheConnectionTakesIt() throws Exception {
        try (AgentClient client = peer.connectBehindRelay(FOUR_IDS, Ready.FEATURE_FS_EXT)) {
            ExecSession cat = client.start(ExecRequest.of("cat")); // no stdin_window: its writes never wait for credit
            assertEquals(MessageType.EXEC_REQUEST, peer.receive().type());
            GuestFiles files = client.files().withTimeout(STREAM);
            CountDownLatch written = new CountDownLatch(1);
            CountDownLatch held = new CountDownLatch(1);
            CompletableFuture<Throwable> closing = failureOf(() -> {
                GuestOutputStream out = files.openWrite("/up", WriteOptions.DEFAULT);
                out.write(new byte[10]);
                written.countDown();
                held.await();
                out.close();
                return null;
            });
            answer(receive(FsOp.OpenFile.class), new FsResponseData.Handle(9));
            Frame write = receive(FsOp.Write.class);
            peer.send(new Frame(write.id(), MessageType.FS_CREDIT, new ExecStdinCredit(1 << 20)));
            assertEquals(10, ((ExecData) peer.receive().payload()).data().length);
            assertTrue(written.await(WAIT.toSeconds(), TimeUnit.SECONDS));
            Thread writer = new Thread(() -> {
                try {
                    cat.writeStdin(new byte[8 << 20]); // more than the socket holds: it holds the connection
                } catch (IOException e) {
                    // ends with the connection
                }
            });
            writer.start();
            BlockedWriteTest.waitUntilBlockedWriting(writer);
            held.countDown();
            assertTimedOut(closing.get(WAIT.toSeconds(), TimeUnit.SECONDS), "nothing was sent to the agent");

            // The agent reads again: cat's stdin, and between its frames what the abort sends.
            Frame end = nextNotOf(cat.id());
            assertEquals(write.id(), end.id());
            assertTrue(((ExecData) end.payload()).isEmpty(), "the Write's data is ended");
            Frame spoil = nextNotOf(cat.id());
            assertInstanceOf(FsOp.Write.class, ((FsRequest) spoil.payload()).op(), "the atomic file is marked failed");
            assertTrue(((ExecData) nextNotOf(cat.id()).payload()).isEmpty());
            peer.send(new Frame(spoil.id(), MessageType.FS_RESPONSE, FsResponse.failure("short write")));
            Frame close = nextNotOf(cat.id());
            assertEquals(9, ((FsOp.CloseHandle) ((FsRequest) close.payload()).op()).handle());
            answer(close, null);
        }
    }

    /** The next frame the client sends on an id other than {@code skipped}. */
    private Frame nextNotOf(long skipped) throws Exception {
        Frame f;
        do {
            f = peer.receive();
        } while (f.id() == skipped);
        return f;
    }
}
