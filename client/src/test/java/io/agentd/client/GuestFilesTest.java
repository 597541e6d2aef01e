package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.ChecksumMismatchException;
import io.agentd.client.fs.GuestFileException;
import io.agentd.client.fs.GuestFiles;
import io.agentd.client.fs.GuestOutputStream;
import io.agentd.client.fs.WriteOptions;
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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files view's frame exchange against a scripted agent: requests and their extension fields,
 * Reads in bounded segments, Writes within the credit, failures as typed exceptions.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class GuestFilesTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long SETTLE_MS = 200;

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

    private static <T> CompletableFuture<T> async(IoCall<T> call) {
        CompletableFuture<T> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                done.complete(call.call());
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }, "test-caller");
        t.setDaemon(true);
        t.start();
        return done;
    }

    /** {@code data} written to {@code path} and the stream closed, on a thread of its own. */
    private static CompletableFuture<Void> writeInBackground(AgentClient client, String path, WriteOptions options,
            byte[] data) {
        return async(() -> {
            GuestOutputStream out = client.files().openWrite(path, options);
            out.write(data);
            out.close();
            return null;
        });
    }

    private static Throwable failureOf(CompletableFuture<?> f) throws Exception {
        try {
            f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            throw new AssertionError("expected a failure");
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    private FsRequest receiveRequest(Frame f) {
        assertEquals(MessageType.FS_REQUEST, f.type());
        return (FsRequest) f.payload();
    }

    private void answer(long id, FsResponse r) throws IOException {
        peer.send(new Frame(id, MessageType.FS_RESPONSE, r));
    }

    private static FsEntryInfo file(String path, long size) {
        return new FsEntryInfo(path, FsEntryInfo.FILE, size, 0100644, 5L, 0, 0, 6L, 5L);
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void statSendsTheExtensionFieldsOnlyToAnAgentThatTakesThem() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<FsEntryInfo> stat = async(() -> client.files().as("nobody").stat("/etc/hosts"));
            Frame f = peer.receive();
            FsRequest r = receiveRequest(f);
            assertEquals(new FsOp.Stat("/etc/hosts", true), r.op());
            assertEquals("nobody", r.user());
            assertTrue(r.extended());
            answer(f.id(), FsResponse.success(new FsResponseData.Stat(file("/etc/hosts", 12))));
            assertEquals(12, stat.get(10, TimeUnit.SECONDS).size());
        }
    }

    @Test
    void aReferenceAgentGetsPlainRequestsAndAUserIsRefusedBeforeSending() throws Exception {
        try (AgentClient client = peer.connect()) {
            GuestFiles files = client.files();
            assertFalse(files.extensions());
            AgentException e = assertThrows(AgentException.class, () -> files.as("nobody").stat("/x"));
            assertTrue(e.getMessage().contains("fs_ext"), e.getMessage());
            CompletableFuture<Void> mkdir = async(() -> {
                files.mkdir("/a/b", 0755L);
                return null;
            });
            Frame f = peer.receive(); // the first frame after the refusal: nothing was sent for it
            FsRequest r = receiveRequest(f);
            assertEquals(new FsOp.Mkdir("/a/b", 0755L), r.op());
            assertNull(r.user());
            assertFalse(r.extended());
            answer(f.id(), FsResponse.success(null));
            mkdir.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void failuresBecomeTypedExceptionsWithPathErrnoAndMessage() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            GuestFiles files = client.files();
            CompletableFuture<FsEntryInfo> stat = async(() -> files.stat("/nope"));
            Frame f = peer.receive();
            answer(f.id(), new FsResponse(false, "stat /nope: No such file or directory (os error 2)", null, 2, "ENOENT", null));
            GuestFileException e = assertInstanceOf(GuestFileException.class, failureOf(stat));
            assertEquals("/nope", e.path());
            assertEquals(2, e.errno());
            assertEquals("ENOENT", e.errnoName());
            assertEquals(GuestFileException.Kind.NOT_FOUND, e.kind());
            assertEquals("stat /nope: No such file or directory (os error 2)", e.getMessage());

            // an agent without errno fields: the number is read from the message's "(os error N)"
            CompletableFuture<Void> rm = async(() -> {
                files.remove("/root/x");
                return null;
            });
            f = peer.receive();
            answer(f.id(), FsResponse.failure("remove /root/x: Permission denied (os error 13)"));
            e = assertInstanceOf(GuestFileException.class, failureOf(rm));
            assertEquals("EACCES", e.errnoName());
            assertEquals(GuestFileException.Kind.PERMISSION_DENIED, e.kind());
            assertEquals("Permission denied", e.description());

            for (String[] c : new String[][] {{"21", "EISDIR", "IS_A_DIRECTORY"}, {"20", "ENOTDIR", "NOT_A_DIRECTORY"},
                    {"28", "ENOSPC", "NO_SPACE"}, {"17", "EEXIST", "ALREADY_EXISTS"}, {"5", "EIO", "OTHER"}}) {
                CompletableFuture<Void> op = async(() -> {
                    files.rename("/a", "/b");
                    return null;
                });
                f = peer.receive();
                answer(f.id(), new FsResponse(false, "rename /a to /b: failed", null, Integer.parseInt(c[0]), c[1], null));
                e = assertInstanceOf(GuestFileException.class, failureOf(op));
                assertEquals(GuestFileException.Kind.valueOf(c[2]), e.kind(), c[1]);
                assertEquals("/a", e.path());
            }
        }
    }

    @Test
    void aCoreErrorOrALostConnectionEndsTheCall() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<String> link = async(() -> client.files().readLink("/l"));
            Frame f = peer.receive();
            peer.send(new Frame(f.id(), MessageType.CORE_ERROR, new io.agentd.protocol.payload.ErrorPayload(
                    "invalid_payload", "path: too long", MessageType.FS_REQUEST.wire())));
            assertInstanceOf(AgentErrorException.class, failureOf(link));

            CompletableFuture<String> again = async(() -> client.files().readLink("/l"));
            peer.receive();
            peer.hangUp();
            assertInstanceOf(ConnectionLostException.class, failureOf(again));
        }
    }

    @Test
    void aReadComesInBoundedSegmentsAndItsChecksumIsChecked() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            byte[] content = new byte[5 * 1024 * 1024 + 123];
            new Random(3).nextBytes(content);
            CompletableFuture<byte[]> read = async(() -> {
                try (InputStream in = client.files().openRead("/big")) {
                    return in.readAllBytes();
                }
            });
            Frame open = peer.receive();
            assertEquals(new FsOp.OpenFile("/big", io.agentd.protocol.payload.FsOpenOptions.reading()),
                    receiveRequest(open).op());
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(7)));
            // two Reads at once, each of a bounded length, at consecutive offsets
            Frame r1 = peer.receive();
            Frame r2 = peer.receive();
            FsOp.Read read1 = (FsOp.Read) receiveRequest(r1).op();
            FsOp.Read read2 = (FsOp.Read) receiveRequest(r2).op();
            assertEquals(7, read1.handle());
            assertEquals(0, read1.offset());
            long segment = read1.len();
            assertTrue(segment > 0 && segment <= 16 * 1024 * 1024, "a bounded Read: " + segment);
            assertEquals(segment, read2.offset());
            sendRead(r1.id(), Arrays.copyOfRange(content, 0, (int) segment));
            // the third Read goes out once the first is consumed
            Frame r3 = peer.receive();
            FsOp.Read read3 = (FsOp.Read) receiveRequest(r3).op();
            assertEquals(2 * segment, read3.offset());
            sendRead(r2.id(), Arrays.copyOfRange(content, (int) segment, content.length)); // short: the end
            sendRead(r3.id(), new byte[0]);
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(7), receiveRequest(close).op());
            answer(close.id(), FsResponse.success(null));
            assertArrayEquals(content, read.get(10, TimeUnit.SECONDS));
        }
    }

    private void sendRead(long id, byte[] bytes) throws Exception {
        for (int at = 0; at < bytes.length; at += 256 * 1024) {
            peer.send(new Frame(id, MessageType.FS_DATA,
                    new ExecData(Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + 256 * 1024)))));
        }
        answer(id, new FsResponse(true, null, null, null, null, sha256(bytes)));
    }

    @Test
    void aReadWhoseChecksumDiffersFails() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<byte[]> read = async(() -> {
                try (InputStream in = client.files().openRead("/f")) {
                    return in.readAllBytes();
                }
            });
            Frame open = peer.receive();
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(1)));
            Frame r1 = peer.receive();
            Frame r2 = peer.receive();
            peer.send(new Frame(r1.id(), MessageType.FS_DATA, new ExecData("hello".getBytes())));
            answer(r1.id(), new FsResponse(true, null, null, null, null, sha256("hellO".getBytes())));
            answer(r2.id(), FsResponse.success(null));
            Frame close = peer.receive();
            answer(close.id(), FsResponse.success(null));
            assertInstanceOf(ChecksumMismatchException.class, failureOf(read));
        }
    }

    @Test
    void aWriteSendsNoMoreThanTheCreditAndChecksTheAgentsChecksum() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            byte[] data = new byte[300_000];
            new Random(9).nextBytes(data);
            CompletableFuture<Void> writer = writeInBackground(client, "/up", WriteOptions.DEFAULT.withMode(0640L), data);
            Frame open = peer.receive();
            FsOp.OpenFile o = (FsOp.OpenFile) receiveRequest(open).op();
            assertEquals("/up", o.path());
            assertTrue(o.options().write() && o.options().create() && o.options().truncate());
            assertTrue(o.options().atomic(), "atomic with an agent that takes it");
            assertEquals(0640L, o.options().mode());
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(3)));
            Frame w = peer.receive();
            FsOp.Write write = (FsOp.Write) receiveRequest(w).op();
            assertEquals(new FsOp.Write(3, 0, null, true), write);
            Thread.sleep(SETTLE_MS);
            assertFalse(writer.isDone(), "nothing is sent before the first credit");

            ByteArrayOutputStream got = new ByteArrayOutputStream();
            long granted = 0;
            Random grants = new Random(5);
            while (got.size() < data.length) {
                long credit = Math.min(1 + grants.nextInt(40_000), data.length - granted);
                peer.send(new Frame(w.id(), MessageType.FS_CREDIT, new ExecStdinCredit(credit)));
                granted += credit;
                while (got.size() < granted) {
                    Frame f = peer.receive();
                    assertEquals(MessageType.FS_DATA, f.type());
                    assertEquals(w.id(), f.id());
                    got.writeBytes(((ExecData) f.payload()).data());
                    assertTrue(got.size() <= granted, "sent " + got.size() + " with " + granted + " granted");
                }
            }
            assertArrayEquals(data, got.toByteArray());
            Frame end = peer.receive();
            assertTrue(((ExecData) end.payload()).isEmpty(), "the empty chunk ends the data");
            answer(w.id(), new FsResponse(true, null, null, null, null, sha256(data)));
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(3), receiveRequest(close).op());
            answer(close.id(), FsResponse.success(null));
            writer.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWriteTheAgentFailsReleasesTheWriterAndAbortsTheAtomicFile() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<Void> writer = writeInBackground(client, "/full/f", WriteOptions.DEFAULT, new byte[100_000]);
            Frame open = peer.receive();
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(4)));
            Frame w = peer.receive();
            peer.send(new Frame(w.id(), MessageType.FS_CREDIT, new ExecStdinCredit(1000)));
            assertEquals(1000, ((ExecData) peer.receive().payload()).data().length);
            answer(w.id(), new FsResponse(false, "write /full/f: No space left on device (os error 28)", null,
                    28, "ENOSPC", null));
            // the abort: the rest of the Write's data is ended, a Write that must fail spoils the
            // atomic handle, then the handle is closed (the agent drops the temporary file)
            Frame end = peer.receive();
            assertEquals(w.id(), end.id());
            assertTrue(((ExecData) end.payload()).isEmpty());
            Frame spoil = peer.receive();
            FsOp.Write spoiler = (FsOp.Write) receiveRequest(spoil).op();
            assertEquals(4, spoiler.handle());
            assertEquals(1L, spoiler.len());
            assertTrue(((ExecData) peer.receive().payload()).isEmpty(), "no data for the spoiling Write");
            answer(spoil.id(), FsResponse.failure("write: 0 bytes came, the len was 1 (os error 22)"));
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(4), receiveRequest(close).op());
            answer(close.id(), FsResponse.failure("atomic upload to /full/f: left unchanged (os error 5)"));
            GuestFileException e = assertInstanceOf(GuestFileException.class, failureOf(writer));
            assertEquals(GuestFileException.Kind.NO_SPACE, e.kind());
            assertEquals("/full/f", e.path());
        }
    }

    /**
     * The spoiling Write refused at once as busy (the connection's fs requests at their limit) did
     * not run, so it is asked again before the close. Before, the close came right after the refusal
     * and the agent put the temporary file, here empty, in place of the destination.
     */
    @Test
    void aSpoilRefusedAsBusyIsAskedAgainBeforeTheClose() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<Void> writer = writeInBackground(client, "/busy/f", WriteOptions.DEFAULT, new byte[100_000]);
            Frame open = peer.receive();
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(4)));
            Frame w = peer.receive();
            answer(w.id(), new FsResponse(false, "agent busy: 256 fs requests in progress on this connection, try again"
                    + " (os error 11)", null, 11, "EAGAIN", null));
            Frame end = peer.receive();
            assertEquals(w.id(), end.id(), "the abort ends the refused Write's data");
            for (int refusals = 0; refusals < 2; refusals++) {
                Frame spoil = peer.receive();
                assertEquals(4, ((FsOp.Write) receiveRequest(spoil).op()).handle(), "a spoiling Write, not the close");
                assertTrue(((ExecData) peer.receive().payload()).isEmpty());
                answer(spoil.id(), new FsResponse(false, "agent busy (os error 11)", null, 11, "EAGAIN", null));
            }
            Frame spoil = peer.receive();
            assertEquals(4, ((FsOp.Write) receiveRequest(spoil).op()).handle(), "asked again after each refusal");
            assertTrue(((ExecData) peer.receive().payload()).isEmpty());
            answer(spoil.id(), FsResponse.failure("write: 0 bytes came, the len was 1 (os error 22)"));
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(4), receiveRequest(close).op(), "closed once the handle is marked");
            answer(close.id(), FsResponse.failure("atomic upload to /busy/f: left unchanged (os error 5)"));
            GuestFileException e = assertInstanceOf(GuestFileException.class, failureOf(writer));
            assertEquals(11, e.errno());
        }
    }

    @Test
    void aWriteAfterTheAgentIsGoneFailsWithConnectionLost() throws Exception {
        // CpEndToEndTest.theAgentGoneMidCopyExits125 met this by chance in CI: the agent went
        // between two Writes, the next Write was never sent, and the abort that followed tried to
        // end a Write that had no id (NullPointerException, agentctl exit 1 instead of 125).
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<GuestOutputStream> opened =
                    async(() -> client.files().openWrite("/gone/f", WriteOptions.DEFAULT));
            Frame open = peer.receive();
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(7)));
            GuestOutputStream out = opened.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            peer.hangUp();
            assertTrue(client.awaitClosed(WAIT), "the client sees the agent gone");
            assertThrows(ConnectionLostException.class, () -> out.write(new byte[10]));
            assertThrows(IOException.class, () -> out.write(new byte[10]), "the stream stays closed");
        }
    }

    @Test
    void aLocalReadErrorWhoseAbortFindsTheAgentGoneIsKeptBesideTheLoss() throws Exception {
        Path unreadable = Files.createDirectory(dir.resolve("a-directory")); // opens, but read(2) fails: EISDIR
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<Long> upload = async(() -> client.files().upload(unreadable, "/up"));
            Frame open = peer.receive();
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(3)));
            Frame spoil = peer.receive(); // the abort's first call (an atomic handle is spoiled first)
            assertEquals(3, ((FsOp.Write) receiveRequest(spoil).op()).handle());
            peer.hangUp();
            ConnectionLostException lost = assertInstanceOf(ConnectionLostException.class, failureOf(upload));
            assertEquals(1, lost.getSuppressed().length, "the read error is kept");
            assertInstanceOf(IOException.class, lost.getSuppressed()[0]);
        }
    }

    /**
     * A CloseHandle refused at once as busy did not run: it is asked again. Before, the close failed
     * EAGAIN and the handle stayed open for the connection's life (an atomic upload never in place).
     */
    @Test
    void aCloseRefusedAsBusyIsAskedAgain() throws Exception {
        try (AgentClient client = peer.connect()) {
            CompletableFuture<Void> writer = writeInBackground(client, "/up", WriteOptions.DEFAULT, new byte[10]);
            Frame open = peer.receive();
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(2)));
            Frame w = peer.receive();
            assertEquals(10, ((ExecData) peer.receive().payload()).data().length);
            assertTrue(((ExecData) peer.receive().payload()).isEmpty());
            answer(w.id(), FsResponse.success(null));
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(2), receiveRequest(close).op());
            answer(close.id(), FsResponse.failure("agent busy: 256 fs requests in progress on this connection, try"
                    + " again (os error 11)"));
            Frame again = peer.receive();
            assertEquals(new FsOp.CloseHandle(2), receiveRequest(again).op(), "asked again");
            answer(again.id(), FsResponse.success(null));
            writer.get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A listing read page by page whose thread is interrupted while it waits for a page still closes
     * its directory handle, and throws the interrupt. Before, the close's send was refused at once
     * (the flag set) and the handle stayed open in the agent for the connection's life.
     */
    @Test
    void anInterruptedListingStillClosesItsHandle() throws Exception {
        try (AgentClient client = peer.connect()) {
            AtomicReference<Thread> lister = new AtomicReference<>();
            var listing = async(() -> {
                lister.set(Thread.currentThread());
                return client.files().list("/big");
            });
            Frame list = peer.receive();
            answer(list.id(), new FsResponse(false, "list /big: too many (os error 7)", null, 7, "E2BIG", null));
            Frame openDir = peer.receive();
            answer(openDir.id(), FsResponse.success(new FsResponseData.Handle(6)));
            Frame readDir = peer.receive();
            assertEquals(new FsOp.ReadDir(6, null), receiveRequest(readDir).op());
            lister.get().interrupt(); // no page comes
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(6), receiveRequest(close).op(), "the handle is closed all the same");
            answer(close.id(), FsResponse.success(null));
            assertInstanceOf(java.io.InterruptedIOException.class, failureOf(listing));
        }
    }

    @Test
    void withoutCreditWritesGoInBoundedPiecesEachAnsweredBeforeTheNext() throws Exception {
        try (AgentClient client = peer.connect()) {
            int size = 9 * 1024 * 1024;
            CompletableFuture<Void> writer = writeInBackground(client, "/up", WriteOptions.DEFAULT, new byte[size]);
            Frame open = peer.receive();
            assertFalse(((FsOp.OpenFile) receiveRequest(open).op()).options().atomic(), "no atomic for a reference agent");
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(2)));
            long offset = 0;
            while (offset < size) {
                Frame w = peer.receive();
                FsOp.Write write = (FsOp.Write) receiveRequest(w).op();
                assertFalse(write.window());
                assertEquals(offset, write.offset());
                long got = 0;
                while (true) {
                    Frame f = peer.receive();
                    assertEquals(w.id(), f.id(), "no data of the next Write before this one is answered");
                    byte[] d = ((ExecData) f.payload()).data();
                    if (d.length == 0) {
                        break;
                    }
                    got += d.length;
                }
                assertTrue(got > 0 && got <= 8 * 1024 * 1024, "a bounded piece: " + got);
                answer(w.id(), FsResponse.success(null));
                offset += got;
            }
            assertEquals(size, offset);
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(2), receiveRequest(close).op());
            answer(close.id(), FsResponse.success(null));
            writer.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aDirectoryTooLargeForOneListIsReadThroughAHandle() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            CompletableFuture<java.util.List<FsEntryInfo>> list = async(() -> client.files().list("/huge"));
            Frame f = peer.receive();
            assertEquals(new FsOp.ListDir("/huge"), receiveRequest(f).op());
            answer(f.id(), new FsResponse(false, "list /huge: too many for one answer (os error 7)", null, 7, "E2BIG", null));
            Frame open = peer.receive();
            assertEquals(new FsOp.OpenDir("/huge"), receiveRequest(open).op());
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(9)));
            for (int page = 0; page < 3; page++) {
                Frame rd = peer.receive();
                assertEquals(new FsOp.ReadDir(9, null), receiveRequest(rd).op());
                answer(rd.id(), FsResponse.success(new FsResponseData.Entries(page == 2 ? java.util.List.of()
                        : java.util.List.of(file("/huge/" + page + "a", 1), file("/huge/" + page + "b", 2)))));
            }
            Frame close = peer.receive();
            assertEquals(new FsOp.CloseHandle(9), receiveRequest(close).op());
            answer(close.id(), FsResponse.success(null));
            assertEquals(java.util.List.of("/huge/0a", "/huge/0b", "/huge/1a", "/huge/1b"),
                    list.get(10, TimeUnit.SECONDS).stream().map(FsEntryInfo::path).toList());
        }
    }

    /**
     * What {@code call} throws when a listener runs it: the output of a scripted session, on the
     * connection's reader thread.
     */
    private Throwable inListener(AgentClient client, IoCall<?> call) throws Exception {
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        ExecSession s = client.start(ExecRequest.of("true"), out -> {
            try {
                call.call();
                thrown.complete(null);
            } catch (Throwable t) {
                thrown.complete(t);
            }
        });
        assertEquals(MessageType.EXEC_REQUEST, peer.receive().type());
        peer.send(new Frame(s.id(), MessageType.EXEC_STDOUT, new ExecData(new byte[] {'x'})));
        return thrown.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * A guest file stream's next chunk or credit could only come through the reader thread: a
     * listener that waits for one is refused at once, not after the view's timeout with every
     * session of the connection stalled (the Reads or the Write were already on their way, so no
     * new request is started that would refuse it).
     */
    @Test
    void aListenerWaitingForAGuestStreamsDataOrCreditIsRefused() throws Exception {
        try (AgentClient client = peer.connect(Ready.FEATURE_FS_EXT)) {
            GuestFiles files = client.files().withTimeout(WAIT);
            CompletableFuture<InputStream> opening = async(() -> files.openRead("/slow"));
            Frame open = peer.receive();
            answer(open.id(), FsResponse.success(new FsResponseData.Handle(7)));
            InputStream in = opening.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            CompletableFuture<Integer> first = async(in::read);
            Frame r1 = peer.receive();
            assertInstanceOf(FsOp.Read.class, receiveRequest(r1).op());
            assertInstanceOf(FsOp.Read.class, receiveRequest(peer.receive()).op());
            peer.send(new Frame(r1.id(), MessageType.FS_DATA, new ExecData(new byte[] {42})));
            assertEquals(42, first.get(WAIT.toMillis(), TimeUnit.MILLISECONDS));

            Throwable t = inListener(client, in::read);
            assertInstanceOf(IllegalStateException.class, t);
            assertTrue(t.getMessage().contains("data of /slow"), t.getMessage());
            peer.send(new Frame(r1.id(), MessageType.FS_DATA, new ExecData(new byte[] {43})));
            assertEquals(43, in.read(), "the stream goes on off the reader thread");

            CompletableFuture<GuestOutputStream> writing = async(() -> files.openWrite("/up", WriteOptions.DEFAULT));
            Frame openW = peer.receive();
            answer(openW.id(), FsResponse.success(new FsResponseData.Handle(8)));
            GuestOutputStream out = writing.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            CompletableFuture<Void> one = async(() -> {
                out.write(1);
                return null;
            });
            Frame w = peer.receive();
            assertInstanceOf(FsOp.Write.class, receiveRequest(w).op());
            peer.send(new Frame(w.id(), MessageType.FS_CREDIT, new ExecStdinCredit(1)));
            assertEquals(MessageType.FS_DATA, peer.receive().type());
            one.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

            t = inListener(client, () -> {
                out.write(2); // no credit left
                return null;
            });
            assertInstanceOf(IllegalStateException.class, t);
            assertTrue(t.getMessage().contains("a write to /up"), t.getMessage());
            peer.send(new Frame(w.id(), MessageType.FS_CREDIT, new ExecStdinCredit(1)));
            out.write(3);
            Frame data = peer.receive();
            assertEquals(w.id(), data.id());
            assertArrayEquals(new byte[] {3}, ((ExecData) data.payload()).data(), "nothing was sent by the refused write");
        }
    }
}
