package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.transport.HeldIds;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import io.agentd.protocol.payload.RelayClientRange;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * FsService with the test thread as its event loop: results posted by the (real) worker run only
 * when the test runs the loop's queue, so what is in progress at each step is known exactly.
 */
class FsServiceTest {
    private final BlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
    private final RecordingHost host = new RecordingHost();
    private final FsWorkers workers = new FsWorkers(1);
    /** The ids whose output a relay asked to hold (relay flow control). */
    private final HeldIds held = new HeldIds();
    private final FsService fs = new FsService(loop::add, host, held, workers, UserDb.system(), FsCredentials.ofAgent(),
            new FsSettings(1, 2, 4096, 8192, 16384));
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-service").toAbsolutePath()), "t-");
    }

    @AfterEach
    void stop() {
        workers.shutdown();
    }

    /** Runs loop tasks until {@code frames} frames were sent (or fails after 10 s). */
    private void runLoopUntil(int frames) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (host.frames.size() < frames) {
            Runnable task = loop.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (task == null) {
                throw new AssertionError("only " + host.frames.size() + " of " + frames + " frames: " + host.types());
            }
            task.run();
        }
    }

    /**
     * Until a thread is in a native read below FsReadStream.readChunk: a fixed wait was not always
     * enough on a loaded machine, and a close that comes first fails the Read as a bad handle instead.
     */
    private static void awaitAWorkerInRead() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (Thread.getAllStackTraces().values().stream().noneMatch(stack -> stack.length > 0
                && stack[0].isNativeMethod()
                && Arrays.stream(stack).anyMatch(e -> e.getClassName().endsWith(".FsReadStream")
                        && e.getMethodName().equals("readChunk")))) {
            assertTrue(System.nanoTime() < deadline, "no worker blocked in read(2) within 20 s");
            Thread.sleep(10);
        }
    }

    private FsResponse response(long id) {
        return host.frames.stream().filter(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)
                .map(f -> (FsResponse) f.payload()).findFirst().orElseThrow();
    }

    @Test
    void pastTheRequestsInProgressTheNextIsRefusedAtOnceWithEagain() throws Exception {
        FsRequest stat = new FsRequest(new FsOp.Stat(dir.toString(), true), null, true);
        fs.onRequest(1, stat);
        fs.onRequest(2, stat);
        fs.onRequest(3, stat); // 1 and 2 are still in progress: their answers wait in the loop's queue
        assertEquals(1, host.frames.size());
        FsResponse busy = response(3);
        assertFalse(busy.ok());
        assertEquals("EAGAIN", busy.errnoName(), busy.toString());
        runLoopUntil(3);
        assertTrue(response(1).ok() && response(2).ok());
        fs.onRequest(4, stat); // room again
        runLoopUntil(4);
        assertTrue(response(4).ok());
    }

    /**
     * The kernel refuses the workers' threads (a session's fork bomb in the agent's pid space: the
     * JVM's OutOfMemoryError "unable to create native thread"): the request is answered EAGAIN and
     * the next one, once a thread can be had, runs. The Error went through the loop and ended the
     * agent (exit 3), and with it every host's sessions (a review, under a pids cgroup).
     */
    @Test
    void aRequestWhoseWorkerThreadTheKernelRefusesIsAnsweredEagainAndTheNextRuns() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean refuse = new java.util.concurrent.atomic.AtomicBoolean(true);
        FsWorkers refusing = new FsWorkers(1, 1 << 20, 1 << 20, FsHandleBudget.halfTheOpenFileLimit(), task -> {
            if (refuse.get()) {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource"
                        + " limits reached");
            }
            return new Thread(task);
        });
        FsService service = new FsService(loop::add, host, held, refusing, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 2, 4096, 8192, 16384));
        try {
            FsRequest stat = new FsRequest(new FsOp.Stat(dir.toString(), true), null, true);
            service.onRequest(1, stat);
            runLoopUntil(1);
            assertEquals("EAGAIN", response(1).errnoName(), response(1).toString());
            refuse.set(false);
            service.onRequest(2, stat);
            runLoopUntil(2);
            assertTrue(response(2).ok(), response(2).toString());
        } finally {
            refusing.shutdown();
        }
    }

    /**
     * A second request on the id of a Write in progress: the data that follows could be either's, so
     * the Write fails and the file keeps exactly what came before (it is still written, and counted
     * in the answer: a failure once dropped what was queued). Before, the refused request's data
     * went into the first Write's file and its empty chunk ended that Write with ok: true.
     */
    @Test
    void aSecondRequestOnAWritesIdFailsTheWriteInsteadOfFeedingItTheOthersData() throws Exception {
        Path first = dir.resolve("first");
        Path second = dir.resolve("second");
        long h1 = openForWriting(fs, host, 1, first);
        long h2 = openForWriting(fs, host, 2, second);
        fs.onRequest(5, new FsRequest(new FsOp.Write(h1, 0, null), null, true));
        fs.onData(5, "first's ".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onRequest(5, new FsRequest(new FsOp.Write(h2, 0, null), null, true));
        fs.onData(5, "second's".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(5, new byte[0]);
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 5 && f.type() == MessageType.FS_RESPONSE),
                () -> host.types().toString());
        FsResponse answer = response(5);
        assertEquals("EINVAL", answer.errnoName(), answer.toString());
        assertTrue(answer.error().contains("another fs request came on id 5"), answer.error());
        assertTrue(answer.error().contains("8 bytes written at offset 0, nothing after"), answer.error());
        assertEquals(1, host.frames.stream().filter(f -> f.type() == MessageType.CORE_ERROR).count(),
                "the second request is refused: " + host.types());
        fs.onRequest(6, new FsRequest(new FsOp.CloseHandle(h1)));
        fs.onRequest(7, new FsRequest(new FsOp.CloseHandle(h2)));
        runLoopUntil(() -> host.frames.stream().filter(f -> f.type() == MessageType.FS_RESPONSE).count() == 5,
                () -> host.types().toString());
        assertEquals("first's ", Files.readString(first), "all the first Write's data, nothing of the second's");
        assertEquals("", Files.readString(second));
    }

    /**
     * A core.fs.data the codec refused (a core.error went out) in the middle of a Write: the Write
     * fails and the file holds only what came before it. Before, the Write went on with the next
     * chunk written straight after the earlier ones, the refused chunk's bytes missing, and ok: true.
     */
    @Test
    void aChunkTheCodecRefusedFailsItsWriteInsteadOfLeavingAHole() throws Exception {
        Path file = dir.resolve("holed");
        long handle = openForWriting(fs, host, 1, file);
        fs.onRequest(5, new FsRequest(new FsOp.Write(handle, 0, null), null, true));
        fs.onData(5, "AAAA".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.refusedByCodec(5, MessageType.FS_DATA.wire()); // the chunk "BBBB", refused for its flags, say
        fs.onData(5, "CCCC".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(5, new byte[0]);
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 5 && f.type() == MessageType.FS_RESPONSE),
                () -> host.types().toString());
        assertEquals("EINVAL", response(5).errnoName(), response(5).toString());
        assertTrue(response(5).error().contains("a core.fs.data the agent refused came on id 5"), response(5).error());
        fs.onRequest(6, new FsRequest(new FsOp.CloseHandle(handle)));
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 6), () -> host.types().toString());
        assertEquals("AAAA", Files.readString(file), "what came before the refused chunk, nothing after");

        // A refused request (it may have been a Write): the data after it is dropped quietly.
        fs.refusedByCodec(8, MessageType.FS_REQUEST.wire());
        fs.onData(8, new byte[10]);
        fs.onData(8, new byte[0]);
        assertTrue(host.frames.stream().noneMatch(f -> f.type() == MessageType.CORE_ERROR), host.types().toString());

        // The same on the id of a Write that had its empty chunk and is still being written (before,
        // each chunk after the refused request got a core.error of its own).
        Path later = dir.resolve("later");
        long h2 = openForWriting(fs, host, 10, later);
        fs.onRequest(9, new FsRequest(new FsOp.Write(h2, 0, null), null, true));
        fs.onData(9, "DDDD".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(9, new byte[0]);
        fs.refusedByCodec(9, MessageType.FS_REQUEST.wire()); // the loop has not seen the Write end yet
        fs.onData(9, new byte[10]);
        fs.onData(9, new byte[0]);
        assertTrue(host.frames.stream().noneMatch(f -> f.type() == MessageType.CORE_ERROR), host.types().toString());
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 9 && f.type() == MessageType.FS_RESPONSE),
                () -> host.types().toString());
        assertTrue(response(9).ok(), "the Write had all its data: " + response(9));
    }

    /**
     * A frame the port's decoder skipped unread (its id unknown) while Writes were in progress: each
     * fails, with what came before it written and counted, and nothing after (TtyPortE2ETest does
     * this through a real port). A Write that had its empty chunk already finishes as it is.
     */
    @Test
    void aSkippedFrameCutsEveryWriteInProgressAfterWhatCameBefore() throws Exception {
        Path cut = dir.resolve("cut");
        Path whole = dir.resolve("whole");
        long h1 = openForWriting(fs, host, 1, cut);
        long h2 = openForWriting(fs, host, 2, whole);
        fs.onRequest(5, new FsRequest(new FsOp.Write(h1, 0, null), null, true));
        fs.onRequest(6, new FsRequest(new FsOp.Write(h2, 0, null), null, true));
        fs.onData(5, "before".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(6, "all".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(6, new byte[0]);
        fs.inputLost();
        fs.onData(5, "after".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(5, new byte[0]);
        runLoopUntil(() -> host.frames.stream().filter(f -> (f.id() == 5 || f.id() == 6)
                && f.type() == MessageType.FS_RESPONSE).count() == 2, () -> host.types().toString());
        assertEquals("EINVAL", response(5).errnoName(), response(5).toString());
        assertTrue(response(5).error().contains("skipped a frame"), response(5).error());
        assertTrue(response(5).error().contains("6 bytes written at offset 0, nothing after"), response(5).error());
        assertTrue(response(6).ok(), response(6).toString());
        fs.onRequest(7, new FsRequest(new FsOp.CloseHandle(h1)));
        fs.onRequest(8, new FsRequest(new FsOp.CloseHandle(h2)));
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 8), () -> host.types().toString());
        assertEquals("before", Files.readString(cut));
        assertEquals("all", Files.readString(whole));
        assertTrue(host.frames.stream().noneMatch(f -> f.type() == MessageType.CORE_ERROR), host.types().toString());
    }

    /**
     * After a Write's empty chunk, while it still writes to the disk: more data on its id is not its
     * own (it used to be appended to the file), and a second request there is refused without failing
     * the Write, which has all its data.
     */
    @Test
    void dataAfterAWritesEmptyChunkIsNotItsOwn() throws Exception {
        Path first = dir.resolve("complete");
        long handle = openForWriting(fs, host, 1, first);
        fs.onRequest(5, new FsRequest(new FsOp.Write(handle, 0, null), null, true));
        fs.onData(5, "all of it".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(5, new byte[0]); // its end: the loop has not run, so it is still in progress
        fs.onData(5, "stray".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onRequest(5, new FsRequest(new FsOp.Write(handle, 0, null), null, true));
        fs.onData(5, "other".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(5, new byte[0]);
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 5 && f.type() == MessageType.FS_RESPONSE),
                () -> host.types().toString());
        assertTrue(response(5).ok(), response(5).toString());
        assertEquals("all of it", Files.readString(first));
    }

    /**
     * A Write refused for its offset (2^63, past what a file can hold) on an atomic handle, then a
     * good one: the upload is made at its close. Before, the refused Write stayed counted in
     * progress on the handle, and the close dropped the upload (EIO) as if it still ran.
     */
    @Test
    void aWriteRefusedForItsOffsetLeavesTheAtomicUploadWhole() throws Exception {
        Path file = dir.resolve("uploaded");
        long handle = openForWrite(1, file, true);
        fs.onRequest(2, new FsRequest(new FsOp.Write(handle, Long.MIN_VALUE, null), null, true)); // 2^63 unsigned
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 2), () -> host.types().toString());
        assertEquals("EINVAL", response(2).errnoName(), response(2).toString());
        fs.onData(2, new byte[0]);
        fs.onRequest(3, new FsRequest(new FsOp.Write(handle, 0, null), null, true));
        fs.onData(3, "whole".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        fs.onData(3, new byte[0]);
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 3), () -> host.types().toString());
        assertTrue(response(3).ok(), response(3).toString());
        fs.onRequest(4, new FsRequest(new FsOp.CloseHandle(handle), null, true));
        runLoopUntil(() -> host.frames.stream().anyMatch(f -> f.id() == 4), () -> host.types().toString());
        assertTrue(response(4).ok(), response(4).toString());
        assertEquals("whole", Files.readString(file));
    }

    @Test
    void theDataOfAWriteRefusedAsBusyIsDroppedQuietly() throws Exception {
        Path file = dir.resolve("busy");
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.replacing(null))));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();
        FsRequest stat = new FsRequest(new FsOp.Stat(dir.toString(), true), null, true);
        fs.onRequest(2, stat);
        fs.onRequest(3, stat); // two in progress: the limit
        fs.onRequest(4, new FsRequest(new FsOp.Write(handle, 0, null), null, true));
        assertEquals("EAGAIN", response(4).errnoName(), response(4).toString());
        for (int i = 0; i < 5; i++) {
            fs.onData(4, new byte[100]);
        }
        fs.onData(4, new byte[0]);
        // Before the fix: one core.error invalid_session per chunk.
        assertTrue(host.frames.stream().noneMatch(f -> f.type() == MessageType.CORE_ERROR), host.types().toString());
        runLoopUntil(4);
        fs.onData(4, new byte[1]); // past its empty chunk the id is no longer absorbed
        assertEquals(1, host.frames.stream().filter(f -> f.type() == MessageType.CORE_ERROR).count(), host.types().toString());
        assertEquals(0, Files.size(file));
    }

    @Test
    void readsTakeTheirBuffersWithinAnAgentWideBudgetAndWaitForIt() throws Exception {
        FsWorkers small = new FsWorkers(1, 2 * 4096, 1 << 20); // two chunks' buffers for every Read together
        FsService service = new FsService(loop::add, host, held, small, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 300, 4096, 8192, 16384));
        try {
            byte[] content = new byte[5 * 4096];
            new Random(3).nextBytes(content);
            Path file = dir.resolve("budget");
            Files.write(file, content);
            service.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
            runLoopUntil(1);
            long handle = ((FsResponseData.Handle) response(1).data()).handle();

            host.acceptsOutput = false;
            // Before the fix each Read allocated 4 buffers as it was asked for: 256 of them ~1 GiB here
            // at the default chunk size. Now the first takes the budget, the others wait for it.
            for (long id = 10; id < 10 + 256; id++) {
                service.onRequest(id, new FsRequest(new FsOp.Read(handle, 0, null)));
            }
            Thread.sleep(200);
            while (!loop.isEmpty()) {
                loop.poll().run();
            }
            assertTrue(small.buffers().reads().reserved() <= 2 * 4096, "held " + small.buffers().reads().reserved());
            assertEquals(1, host.frames.size(), "nothing sent while the output takes nothing: " + host.types());

            host.acceptsOutput = true;
            service.onOutputResumed();
            runLoopUntil(1 + 256 * (5 + 1)); // every Read: five chunks and its answer
            for (long id = 10; id < 10 + 256; id++) {
                assertTrue(response(id).ok(), response(id).toString());
            }
            assertEquals(256L * content.length, host.fsDataBytes().length);
            assertEquals(0, small.buffers().reads().reserved(), "every Read gave its buffers back");
        } finally {
            small.shutdown();
        }
    }

    /**
     * Until {@code budget} holds {@code held} handles (or fails after 10 s, saying {@code what}): the
     * handles of an owner that left give their room back from the closing threads.
     */
    private static void awaitHeld(FsHandleBudget budget, long held, String what) throws InterruptedException {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); budget.held() != held; Thread.sleep(5)) {
            assertTrue(System.nanoTime() < deadline, what + ": held " + budget.held() + ", not " + held);
        }
    }

    /** A service for another connection of the same agent (the same workers, so the same budgets), on this loop. */
    private FsService connection(FsWorkers shared, RecordingHost itsHost) {
        return new FsService(loop::add, itsHost, new HeldIds(), shared, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 300, 4096, 8192, 16384));
    }

    /** Runs loop tasks until {@code done} (or fails after 10 s, saying {@code what}). */
    private void runLoopUntil(BooleanSupplier done, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            Runnable task = loop.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (task == null) {
                throw new AssertionError("not done within 10 s: " + what.get());
            }
            task.run();
        }
    }

    private static boolean answered(RecordingHost on, long id) {
        return on.frames.stream().anyMatch(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE);
    }

    private static FsResponse responseOn(RecordingHost on, long id) {
        return on.frames.stream().filter(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)
                .map(f -> (FsResponse) f.payload()).findFirst().orElseThrow();
    }

    /**
     * Every connection may hold 1,024 handles, and 64 connections more than the agent has
     * descriptors (65,536 in the guest): hosts' open files could leave none for sessions. All
     * connections together hold at most the agent's handle budget (half its open-file limit).
     */
    @Test
    void openHandlesOverAllConnectionsStayWithinTheAgentsBudgetAndItsRoomComesBackAsTheyClose() throws Exception {
        FsHandleBudget budget = new FsHandleBudget(3);
        FsWorkers shared = new FsWorkers(1, 1 << 20, 1 << 20, budget);
        RecordingHost aHost = new RecordingHost();
        RecordingHost bHost = new RecordingHost();
        FsService a = connection(shared, aHost);
        FsService b = connection(shared, bHost);
        try {
            Path file = dir.resolve("budget");
            Files.writeString(file, "x");
            FsResponse first = open(a, aHost, 1, file);
            open(a, aHost, 2, file);
            open(a, aHost, 3, file);
            assertEquals(3, budget.held());

            FsResponse refused = open(b, bHost, 1, file);
            assertEquals("EMFILE", refused.errnoName(), refused.toString());
            assertTrue(refused.toString().contains("3 over all connections, half the agent's open-file limit"),
                    refused.toString());
            assertEquals("EMFILE", open(a, aHost, 4, file).errnoName(), "the connection holding them too");
            assertEquals(0, b.openHandles(), "the refused handle was closed");

            long firstHandle = ((FsResponseData.Handle) first.data()).handle();
            a.onRequest(5, new FsRequest(new FsOp.CloseHandle(firstHandle), null, true));
            runLoopUntil(() -> answered(aHost, 5), aHost.types()::toString);
            assertTrue(open(b, bHost, 2, file).ok(), "room again once a handle closed");

            a.onOwnerGone(); // its two handles close with it, on the closing thread: their room comes back then
            awaitHeld(budget, 1, "after the closes");
            assertTrue(open(b, bHost, 3, file).ok() && open(b, bHost, 4, file).ok());
            assertEquals(3, b.openHandles());
        } finally {
            shared.shutdown();
        }
    }

    /**
     * A Copy in progress holds its four descriptors (the directories above src and dst, the file and
     * its temporary file) between its slices, when no worker runs it: they come from the handles'
     * budget, so Copies left in progress by the hundred cannot take every descriptor the agent has.
     * A Copy with no room left is EMFILE at once; the room comes back when a Copy ends.
     */
    @Test
    void aCopyInProgressHoldsItsDescriptorsInTheBudget() throws Exception {
        FsHandleBudget budget = new FsHandleBudget(FsNamespace.COPY_DESCRIPTORS + 1);
        FsWorkers shared = new FsWorkers(1, 1 << 20, 1 << 20, budget);
        RecordingHost host = new RecordingHost();
        FsService fs = connection(shared, host);
        FsSlice.nanos = 0; // a slice of one 64 KiB chunk: the first Copy is in progress for 64 of them
        try {
            Path src = Files.write(dir.resolve("src"), new byte[4 << 20]);
            Files.write(src, new byte[] {1}, java.nio.file.StandardOpenOption.APPEND); // not all zeros
            fs.onRequest(1, new FsRequest(new FsOp.Copy(src.toString(), dir.resolve("one").toString()), null, true));
            fs.onRequest(2, new FsRequest(new FsOp.Copy(src.toString(), dir.resolve("two").toString()), null, true));
            runLoopUntil(() -> answered(host, 1) && answered(host, 2), host.types()::toString);
            assertTrue(responseOn(host, 1).ok(), responseOn(host, 1).toString());
            assertEquals("EMFILE", responseOn(host, 2).errnoName(), responseOn(host, 2).toString());
            assertEquals(0, budget.held(), "given back at the end");

            fs.onRequest(3, new FsRequest(new FsOp.Copy(src.toString(), dir.resolve("two").toString()), null, true));
            runLoopUntil(() -> answered(host, 3), host.types()::toString);
            assertTrue(responseOn(host, 3).ok(), responseOn(host, 3).toString());
            assertEquals(Files.size(src), Files.size(dir.resolve("two")));
        } finally {
            FsSlice.nanos = FsSlice.DEFAULT_NANOS;
            shared.shutdown();
        }
    }

    /**
     * A tree walk's open directories take their descriptors from the handles' budget (three a
     * level; four for a Copy's, with the destination directory; and a Copy's own four, a RemoveDir's
     * own one, from its start): a walk deeper than the room left
     * is EMFILE, and every descriptor it took comes back, whether it ended or failed. Outside the
     * budget, a Copy 1,536 deep held 6,144 descriptors and two such walks with the handles could
     * take every descriptor the agent had.
     */
    @Test
    void treeWalksTakeTheirDirectoriesFromTheBudgetAndGiveThemBack() throws Exception {
        FsHandleBudget budget = new FsHandleBudget(20);
        FsWorkers shared = new FsWorkers(1, 1 << 20, 1 << 20, budget);
        RecordingHost host = new RecordingHost();
        FsService fs = connection(shared, host);
        try {
            Path shallow = Files.createDirectories(dir.resolve("shallow/a/b/c")).getParent().getParent().getParent();
            Files.writeString(shallow.resolve("a/b/c/f"), "x");
            Path deep = dir.resolve("deep");
            Files.createDirectories(deep.resolve("1/2/3/4/5/6"));

            fs.onRequest(1, new FsRequest(new FsOp.Copy(shallow.toString(), dir.resolve("shallow-copy").toString()),
                    null, true));
            runLoopUntil(() -> answered(host, 1), host.types()::toString);
            assertTrue(responseOn(host, 1).ok(), "4 levels of 4, and the Copy's own 4: " + responseOn(host, 1));
            assertEquals("x", Files.readString(dir.resolve("shallow-copy/a/b/c/f")));
            assertEquals(0, budget.held(), "given back at the end");

            fs.onRequest(2, new FsRequest(new FsOp.Copy(deep.toString(), dir.resolve("deep-copy").toString()),
                    null, true));
            runLoopUntil(() -> answered(host, 2), host.types()::toString);
            FsResponse copy = responseOn(host, 2);
            assertEquals("EMFILE", copy.errnoName(), copy.toString());
            assertTrue(copy.error().contains("Copies and tree walks under way: 20 descriptors"), copy.error());
            assertEquals(0, budget.held(), "given back after the failure");

            fs.onRequest(3, new FsRequest(new FsOp.RemoveDir(deep.toString(), true), null, true));
            runLoopUntil(() -> answered(host, 3), host.types()::toString);
            assertEquals("EMFILE", responseOn(host, 3).errnoName(), "7 levels of 3: " + responseOn(host, 3));
            assertEquals(0, budget.held());
            assertTrue(Files.isDirectory(deep.resolve("1/2/3/4/5/6")), "what was not reached is there");

            fs.onRequest(4, new FsRequest(new FsOp.RemoveDir(shallow.toString(), true), null, true));
            runLoopUntil(() -> answered(host, 4), host.types()::toString);
            assertTrue(responseOn(host, 4).ok(), responseOn(host, 4).toString());
            assertEquals(0, budget.held());
        } finally {
            shared.shutdown();
        }
    }

    /**
     * An atomic upload's handle holds two descriptors, its temporary file and the directory it was
     * made in (where it is renamed or removed at the close), and the agent's budget counts both: a
     * budget of 3 takes one upload and one more handle, and has the upload's two back once it
     * closes. Counted as one, hosts' uploads could hold the agent's whole open-file limit.
     */
    @Test
    void anAtomicUploadCountsItsDirectoryInTheBudget() throws Exception {
        FsHandleBudget budget = new FsHandleBudget(3);
        FsWorkers shared = new FsWorkers(1, 1 << 20, 1 << 20, budget);
        RecordingHost aHost = new RecordingHost();
        FsService a = connection(shared, aHost);
        try {
            Path file = Files.writeString(dir.resolve("budget"), "x");
            FsOpenOptions atomic = new FsOpenOptions(false, true, false, true, true, false, null, true);
            a.onRequest(1, new FsRequest(new FsOp.OpenFile(dir.resolve("up").toString(), atomic), null, true));
            runLoopUntil(() -> answered(aHost, 1), aHost.types()::toString);
            FsResponse upload = responseOn(aHost, 1);
            assertTrue(upload.ok(), upload.toString());
            assertEquals(2, budget.held());
            a.onRequest(2, new FsRequest(new FsOp.OpenFile(dir.resolve("up2").toString(), atomic), null, true));
            runLoopUntil(() -> answered(aHost, 2), aHost.types()::toString);
            assertEquals("EMFILE", responseOn(aHost, 2).errnoName(), responseOn(aHost, 2).toString());
            assertTrue(listDir().stream().noneMatch(p -> p.getFileName().toString().startsWith(".up2.")),
                    "the refused upload's temporary file is removed: " + listDir());
            assertTrue(open(a, aHost, 3, file).ok(), "a plain handle takes the last one");
            assertEquals(3, budget.held());
            a.onRequest(4, new FsRequest(new FsOp.CloseHandle(((FsResponseData.Handle) upload.data()).handle()), null, true));
            runLoopUntil(() -> answered(aHost, 4), aHost.types()::toString);
            assertTrue(responseOn(aHost, 4).ok(), responseOn(aHost, 4).toString());
            assertEquals(1, budget.held(), "the upload's two came back");
        } finally {
            shared.shutdown();
        }
    }

    @Test
    void theBudgetIsHalfTheSoftOpenFileLimitThisProcessRunsUnder() throws Exception {
        long soft = FsHandleBudget.softOpenFileLimit(Files.readString(Path.of("/proc/self/limits")));
        assertTrue(soft > 0, "this test runs under a finite open-file limit");
        assertEquals(soft / 2, FsHandleBudget.halfTheOpenFileLimit().max());
        String limits = "Limit                     Soft Limit           Hard Limit           Units     \n"
                + "Max processes             62576                62576                processes \n"
                + "Max open files            %s                 4096                 files     \n";
        assertEquals(1024, FsHandleBudget.softOpenFileLimit(limits.formatted("1024")));
        assertEquals(-1, FsHandleBudget.softOpenFileLimit(limits.formatted("unlimited")));
        assertEquals(-1, FsHandleBudget.softOpenFileLimit("Max processes 5 5 processes\n"));
    }

    /** Opens {@code file} for reading on {@code service} on {@code id} (errno names asked for); the answer. */
    private FsResponse open(FsService service, RecordingHost itsHost, long id, Path file) throws InterruptedException {
        service.onRequest(id, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading()), null, true));
        runLoopUntil(() -> answered(itsHost, id), itsHost.types()::toString);
        return responseOn(itsHost, id);
    }

    /** Opens {@code file} for reading on {@code service}, on id 1; its handle. */
    private long openForReading(FsService service, RecordingHost itsHost, Path file) throws InterruptedException {
        service.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
        runLoopUntil(() -> answered(itsHost, 1), itsHost.types()::toString);
        return ((FsResponseData.Handle) responseOn(itsHost, 1).data()).handle();
    }

    /**
     * Behind a relay, one client has at most a quarter of the connection's requests in progress:
     * past them its next is "agent busy" while another client's is admitted. Before, only the
     * connection's limit counted, and one client's requests made every other client's busy.
     */
    @Test
    void oneRelayClientHasAtMostAQuarterOfTheConnectionsRequestsInProgress() throws Exception {
        FsService relay = new FsService(loop::add, host, held, workers, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 12, 4096, 8192, 16384));
        relay.onIdRangeNamed(100, 200);
        relay.onIdRangeNamed(200, 300);
        FsRequest stat = new FsRequest(new FsOp.Stat(dir.toString(), true), null, true);
        for (long id = 101; id <= 103; id++) {
            relay.onRequest(id, stat); // in progress: their answers wait in the loop's queue
        }
        relay.onRequest(104, stat);
        FsResponse busy = response(104);
        assertEquals("EAGAIN", busy.errnoName(), busy.toString());
        assertTrue(busy.error().contains("3 fs requests in progress for this relay client"), busy.error());
        relay.onRequest(201, stat);
        relay.onRequest(1, stat); // an id in no range named: the connection's own
        runLoopUntil(() -> answered(host, 201) && answered(host, 1) && answered(host, 103), host.types()::toString);
        assertTrue(response(201).ok(), "the other relay client's request is admitted: " + response(201));
        assertTrue(response(1).ok(), response(1).toString());
        relay.onRequest(105, stat); // client 100's requests are done: room again
        runLoopUntil(() -> answered(host, 105), host.types()::toString);
        assertTrue(response(105).ok(), response(105).toString());
    }

    @Test
    void aHostThatStopsReadingHoldsAtMostItsShareOfTheReadBudgetWhileOtherConnectionsReadsGoOn() throws Exception {
        FsWorkers shared = new FsWorkers(1, 8 * 4096, 1 << 20); // eight chunks for all; a quarter, two, for one connection
        RecordingHost stuckHost = new RecordingHost();
        RecordingHost otherHost = new RecordingHost();
        FsService stuck = connection(shared, stuckHost);
        FsService other = connection(shared, otherHost);
        try {
            byte[] content = new byte[5 * 4096];
            new Random(5).nextBytes(content);
            Path file = dir.resolve("shared");
            Files.write(file, content);
            long stuckHandle = openForReading(stuck, stuckHost, file);
            long otherHandle = openForReading(other, otherHost, file);

            stuckHost.acceptsOutput = false; // its host reads nothing more: every Read it runs pauses
            for (long id = 10; id < 18; id++) {
                stuck.onRequest(id, new FsRequest(new FsOp.Read(stuckHandle, 0, null)));
            }
            other.onRequest(10, new FsRequest(new FsOp.Read(otherHandle, 0, null)));
            // Before the fix the stuck host's first two Reads took four buffers each, the whole budget,
            // and kept them: this Read waited for that host for good.
            runLoopUntil(() -> answered(otherHost, 10), () -> "the other connection's Read, while the stuck host holds "
                    + shared.buffers().reads().reserved() + " of " + shared.buffers().reads().limit() + " bytes");
            assertTrue(responseOn(otherHost, 10).ok(), responseOn(otherHost, 10).toString());
            assertArrayEquals(content, otherHost.fsDataBytes());
            assertEquals(0, stuckHost.of(MessageType.FS_DATA).size(), "nothing sent while its host reads nothing");
            assertEquals(2 * 4096, shared.buffers().reads().reserved(), "the stuck connection holds its share, no more");
            assertEquals(0, shared.buffers().reads().waiting(), "its other Reads wait for its share, not the agent's room");

            stuckHost.acceptsOutput = true;
            stuck.onOutputResumed();
            runLoopUntil(() -> answered(stuckHost, 17), stuckHost.types()::toString);
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            for (long id = 10; id < 18; id++) {
                assertTrue(responseOn(stuckHost, id).ok(), responseOn(stuckHost, id).toString());
                expected.writeBytes(content); // one Read after another: its share has room for one
            }
            assertArrayEquals(expected.toByteArray(), stuckHost.fsDataBytes(), "every byte once, in order");
            assertEquals(0, shared.buffers().reads().reserved(), "every Read gave its buffers back");
        } finally {
            shared.shutdown();
        }
    }

    /**
     * Behind a relay, each client's Reads and windowed Writes take their buffers and credit from a
     * share of their own (a quarter of the connection's), so a client whose Reads are paused (the
     * relay holds its ids: it reads nothing) or that holds credit it does not use leaves room for the
     * others. Before, the shares were the connection's: another client's Read of a 6-byte file
     * waited for the paused client, and another client's windowed Write got no credit.
     */
    @Test
    void behindARelayOneClientsPausedReadsAndUnusedCreditLeaveOtherClientsRoom() throws Exception {
        FsWorkers shared = new FsWorkers(1, 8 * 4096, 8 * 8192); // the connection's share: two chunks, one window
        HeldIds relayHeld = new HeldIds();
        FsService relay = new FsService(loop::add, host, relayHeld, shared, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 300, 4096, 8192, 16384));
        relay.onIdRangeNamed(100, 200); // client A
        relay.onIdRangeNamed(200, 300); // client B
        try {
            byte[] content = new byte[5 * 4096];
            new Random(11).nextBytes(content);
            Path big = dir.resolve("big");
            Files.write(big, content);
            Path small = dir.resolve("small");
            Files.writeString(small, "small\n");
            relay.onRequest(100, new FsRequest(new FsOp.OpenFile(big.toString(), FsOpenOptions.reading())));
            relay.onRequest(200, new FsRequest(new FsOp.OpenFile(small.toString(), FsOpenOptions.reading())));
            runLoopUntil(() -> answered(host, 100) && answered(host, 200), host.types()::toString);
            long a = ((FsResponseData.Handle) response(100).data()).handle();
            long b = ((FsResponseData.Handle) response(200).data()).handle();

            relayHeld.hold(new RelayClientRange(100, 200)); // client A reads nothing: its Reads pause
            for (long id = 110; id < 118; id++) {
                relay.onRequest(id, new FsRequest(new FsOp.Read(a, 0, null)));
            }
            relay.onRequest(210, new FsRequest(new FsOp.Read(b, 0, null)));
            runLoopUntil(() -> answered(host, 210), () -> "client B's Read, while client A holds "
                    + shared.buffers().reads().reserved() + " bytes");
            assertTrue(response(210).ok(), response(210).toString());

            long wa = openForWriting(relay, host, 120, dir.resolve("a-upload"));
            long wb = openForWriting(relay, host, 220, dir.resolve("b-upload"));
            relay.onRequest(121, new FsRequest(new FsOp.Write(wa, 0, null, true), null, true)); // A sends no data
            relay.onRequest(122, new FsRequest(new FsOp.Write(wa, 0, null, true), null, true));
            relay.onRequest(221, new FsRequest(new FsOp.Write(wb, 0, null, true), null, true));
            assertTrue(creditOn(host, 221) > 0, "client B's windowed Write has credit while A holds its own");
            relay.onData(221, "b's".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            relay.onData(221, new byte[0]);
            runLoopUntil(() -> answered(host, 221), host.types()::toString);
            assertTrue(response(221).ok(), response(221).toString());
            assertEquals("b's", Files.readString(dir.resolve("b-upload")));

            relayHeld.releaseAll();
            relay.onOutputResumed();
            runLoopUntil(() -> answered(host, 117), host.types()::toString);
            for (long id = 110; id < 118; id++) {
                assertTrue(response(id).ok(), response(id).toString());
            }
        } finally {
            shared.shutdown();
        }
    }

    /**
     * However many relay clients a connection names, its Reads and windowed Writes together hold at
     * most its part of the agent's budgets, so another connection's still get buffers and credit.
     * Before, each client's share was taken from the agent's budget alone: a host that named 16 id
     * ranges (as a relay does for its clients) held both budgets whole with two stuck transfers per
     * range, and every other host's downloads and uploads waited.
     */
    @Test
    void relayClientsOfOneConnectionHoldAtMostTheConnectionsPartOfTheBudgets() throws Exception {
        // Reads: 16 chunks in all, 4 for one connection, 1 for one relay client; Writes: 16 windows,
        // 4 for one connection, 1 for one relay client.
        FsWorkers shared = new FsWorkers(1, 16 * 4096, 16 * 8192);
        HeldIds relayHeld = new HeldIds();
        FsService relay = new FsService(loop::add, host, relayHeld, shared, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 300, 4096, 8192, 16384));
        try {
            Path big = dir.resolve("big");
            Files.write(big, new byte[8 * 4096]);
            for (int client = 0; client < 16; client++) {
                long start = 1000L * (client + 1);
                relay.onIdRangeNamed(start, start + 1000);
                relayHeld.hold(new RelayClientRange(start, start + 1000)); // no client reads: their Reads pause
                relay.onRequest(start, new FsRequest(new FsOp.OpenFile(big.toString(), FsOpenOptions.reading())));
                runLoopUntil(() -> answered(host, start), host.types()::toString);
                long handle = ((FsResponseData.Handle) response(start).data()).handle();
                relay.onRequest(start + 1, new FsRequest(new FsOp.Read(handle, 0, null)));
                relay.onRequest(start + 2, new FsRequest(new FsOp.Read(handle, 0, null)));
                long upload = openForWriting(relay, host, start + 3, dir.resolve("upload-" + client));
                relay.onRequest(start + 4, new FsRequest(new FsOp.Write(upload, 0, null, true), null, true)); // no data comes
            }
            for (Runnable task; (task = loop.poll(300, TimeUnit.MILLISECONDS)) != null; ) {
                task.run(); // what the workers read comes back to the loop, until no more does
            }
            FsBuffers budgets = shared.buffers();
            assertTrue(budgets.reads().reserved() <= budgets.readShare(), "Read buffers the relay's clients hold: "
                    + budgets.reads().reserved() + " of the agent's " + budgets.reads().limit());
            assertTrue(budgets.writes().reserved() <= budgets.writeShare(), "Write credit the relay's clients hold: "
                    + budgets.writes().reserved() + " of the agent's " + budgets.writes().limit());

            RecordingHost otherHost = new RecordingHost();
            FsService other = connection(shared, otherHost);
            Path small = dir.resolve("small");
            Files.writeString(small, "small\n");
            long handle = openForReading(other, otherHost, small);
            other.onRequest(10, new FsRequest(new FsOp.Read(handle, 0, null)));
            runLoopUntil(() -> answered(otherHost, 10), () -> "another host's Read, while the relay holds "
                    + budgets.reads().reserved() + " bytes");
            assertTrue(responseOn(otherHost, 10).ok(), responseOn(otherHost, 10).toString());
            long upload = openForWriting(other, otherHost, 20, dir.resolve("other-upload"));
            other.onRequest(21, new FsRequest(new FsOp.Write(upload, 0, null, true), null, true));
            assertTrue(creditOn(otherHost, 21) > 0, "another host's windowed Write has credit");
        } finally {
            shared.shutdown();
        }
    }

    /**
     * On a port the connection outlives its hosts: each host's owners' shares go with it, and what
     * their stopped Writes held comes back. Before (a review), the shares were kept for good, one
     * pair for each id range each host named (200 hosts of 1024 ranges: 204,800 shares, 45 MiB).
     */
    @Test
    void aHostsSharesGoWithItAndTheCreditTheyHeldComesBack() throws Exception {
        FsWorkers shared = new FsWorkers(1, 16 * 4096, 16 * 8192);
        FsService port = new FsService(loop::add, host, new HeldIds(), shared, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 300, 4096, 8192, 16384));
        try {
            for (int hostNumber = 0; hostNumber < 3; hostNumber++) {
                long base = 1_000_000L * (hostNumber + 1);
                for (int client = 0; client < 8; client++) {
                    long start = base + 1000L * client;
                    port.onIdRangeNamed(start, start + 1000);
                    long upload = openForWriting(port, host, start, dir.resolve("upload-" + hostNumber + "-" + client));
                    port.onRequest(start + 1, new FsRequest(new FsOp.Write(upload, 0, null, true), null, true)); // no data comes
                }
                assertEquals(8, port.ownersWithShares(), "host " + hostNumber + "'s clients each have a share");
                assertTrue(shared.buffers().writes().reserved() > 0, "their Writes hold credit");
                port.onOwnerGone();
                for (Runnable task; (task = loop.poll(300, TimeUnit.MILLISECONDS)) != null; ) {
                    task.run();
                }
                assertEquals(0, port.ownersWithShares(), "host " + hostNumber + "'s shares went with it");
                assertEquals(0, shared.buffers().writes().reserved(), "the credit its Writes held came back");
            }
        } finally {
            shared.shutdown();
        }
    }

    @Test
    void readsShortOfTheAgentsRoomWaitOnItOncePerConnectionAndAReleaseWakesOnlyThoseItHasRoomFor() throws Exception {
        FsWorkers shared = new FsWorkers(1, 8 * 4096, 1 << 20); // eight chunks; two for one connection
        try {
            byte[] content = new byte[3 * 4096];
            new Random(7).nextBytes(content);
            Path file = dir.resolve("four-stuck");
            Files.write(file, content);
            RecordingHost[] stuckHosts = new RecordingHost[4];
            FsService[] stuck = new FsService[4];
            for (int i = 0; i < 4; i++) {
                stuckHosts[i] = new RecordingHost();
                stuck[i] = connection(shared, stuckHosts[i]);
                long handle = openForReading(stuck[i], stuckHosts[i], file);
                stuckHosts[i].acceptsOutput = false;
                stuck[i].onRequest(10, new FsRequest(new FsOp.Read(handle, 0, null)));
            }
            assertEquals(8 * 4096, shared.buffers().reads().reserved(), "four stuck hosts hold the whole budget");

            RecordingHost waitingHost = new RecordingHost();
            FsService waiting = connection(shared, waitingHost);
            long handle = openForReading(waiting, waitingHost, file);
            for (long id = 10; id < 15; id++) {
                waiting.onRequest(id, new FsRequest(new FsOp.Read(handle, 0, null)));
            }
            // Before: every Read on the budget's list, each woken by every release.
            assertEquals(1, shared.buffers().reads().waiting(), "the connection waits once, not each of its Reads");

            stuckHosts[0].acceptsOutput = true;
            stuck[0].onOutputResumed();
            runLoopUntil(() -> answered(stuckHosts[0], 10), stuckHosts[0].types()::toString);
            assertEquals(8 * 4096, shared.buffers().reads().reserved(), "its two buffers went to a waiting Read at once");
            assertEquals(0, shared.buffers().reads().waiting(), "the others are short of their share now, not of the agent's room");

            runLoopUntil(() -> answered(waitingHost, 14), waitingHost.types()::toString);
            for (long id = 10; id < 15; id++) {
                assertTrue(responseOn(waitingHost, id).ok(), responseOn(waitingHost, id).toString());
            }
            assertEquals(5L * content.length, waitingHost.fsDataBytes().length);
            assertEquals(6 * 4096, shared.buffers().reads().reserved(), "the three still stuck hold their shares");
        } finally {
            shared.shutdown();
        }
    }

    private static long creditOn(RecordingHost itsHost, long id) {
        return itsHost.frames.stream().filter(f -> f.id() == id && f.type() == MessageType.FS_CREDIT)
                .mapToLong(f -> ((io.agentd.protocol.payload.ExecStdinCredit) f.payload()).bytes()).sum();
    }

    private long openForWriting(FsService service, RecordingHost itsHost, long id, Path file) throws InterruptedException {
        service.onRequest(id, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.replacing(null))));
        runLoopUntil(() -> answered(itsHost, id), itsHost.types()::toString);
        return ((FsResponseData.Handle) responseOn(itsHost, id).data()).handle();
    }

    /**
     * A host that opens windowed Writes and sends nothing holds their credit: at most its share of
     * the Write budget (a quarter), so another connection's Write still gets credit. Before, four
     * such Writes held the whole budget and the other connection's waited for as long as they did.
     * And Writes that end while waiting for room leave no wake-up behind (before, each stayed on
     * the budget's list, with its stream, until some room came back).
     */
    @Test
    void aHostHoldingCreditItDoesNotUseHoldsAtMostItsShareOfTheWriteBudget() throws Exception {
        FsWorkers shared = new FsWorkers(1, 1 << 20, 4 * 8192); // four windows for all; a quarter, one, for one connection
        RecordingHost idleHost = new RecordingHost();
        RecordingHost otherHost = new RecordingHost();
        FsService idle = connection(shared, idleHost);
        FsService other = connection(shared, otherHost);
        try {
            long h = openForWriting(idle, idleHost, 1, dir.resolve("idle"));
            for (long id = 10; id < 14; id++) {
                idle.onRequest(id, new FsRequest(new FsOp.Write(h, 0, null, true), null, true));
            }
            assertEquals(8192, creditOn(idleHost, 10), "its first Write has a window of credit");
            for (long id = 11; id < 14; id++) {
                assertEquals(0, creditOn(idleHost, id), "its share is spent: Write " + id + " waits");
            }
            assertEquals(8192, shared.buffers().writes().reserved());

            long o = openForWriting(other, otherHost, 1, dir.resolve("other"));
            other.onRequest(20, new FsRequest(new FsOp.Write(o, 0, null, true), null, true));
            assertEquals(8192, creditOn(otherHost, 20), "another connection's Write gets credit");
            other.onData(20, "written".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            other.onData(20, new byte[0]);
            runLoopUntil(() -> answered(otherHost, 20), otherHost.types()::toString);
            assertTrue(responseOn(otherHost, 20).ok(), responseOn(otherHost, 20).toString());
            assertEquals("written", Files.readString(dir.resolve("other")));

            for (long id = 100; id < 1100; id++) { // windowed Writes that wait for room and end at once
                idle.onRequest(id, new FsRequest(new FsOp.Write(h, 0, null, true), null, true));
                idle.onData(id, new byte[0]);
            }
            runLoopUntil(() -> answered(idleHost, 1099), idleHost.types()::toString);
            assertTrue(shared.buffers().writes().waiting() <= 3,
                    "only the three Writes still waiting are on the budget's list: " + shared.buffers().writes().waiting());
        } finally {
            shared.shutdown();
        }
    }

    @Test
    void writesHoldNoMoreThanAnAgentWideBudget() throws Exception {
        FsWorkers small = new FsWorkers(1, 1 << 20, 2 * 4096);
        FsService service = new FsService(loop::add, host, held, small, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 8, 4096, 8192, 16384));
        java.util.concurrent.CountDownLatch stall = new java.util.concurrent.CountDownLatch(1);
        try {
            Path old = dir.resolve("old-host");
            Path windowed = dir.resolve("windowed");
            service.onRequest(1, new FsRequest(new FsOp.OpenFile(old.toString(), FsOpenOptions.replacing(null))));
            service.onRequest(2, new FsRequest(new FsOp.OpenFile(windowed.toString(), FsOpenOptions.replacing(null))));
            runLoopUntil(2);
            long h1 = ((FsResponseData.Handle) response(1).data()).handle();
            long h2 = ((FsResponseData.Handle) response(2).data()).handle();
            small.run(() -> { // the worker is busy elsewhere (a slow disk): nothing reaches the file
                try {
                    stall.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });

            service.onRequest(3, new FsRequest(new FsOp.Write(h1, 0, null), null, true));
            service.onData(3, new byte[4096]);
            service.onData(3, new byte[4096]); // the whole budget, within this Write's own buffer
            service.onRequest(4, new FsRequest(new FsOp.Write(h2, 0, null, true), null, true));
            assertEquals(0, creditGranted(4), "no room in the budget: no credit yet");
            // Before the fix: taken (each Write had only its own bound, 16384 here).
            service.onData(3, new byte[4096]);
            FsResponse refused = response(3);
            assertEquals("ENOBUFS", refused.errnoName(), refused.toString());
            assertTrue(refused.error().contains("for all connections together"), refused.error());
            service.onData(3, new byte[0]);
            while (!loop.isEmpty()) {
                loop.poll().run();
            }
            long share = small.buffers().writeShare();
            assertEquals(share, creditGranted(4), "the refused Write's room went to the waiting one, up to its"
                    + " connection's share of the budget (a quarter)");

            stall.countDown();
            service.onData(4, new byte[(int) share]);
            service.onData(4, new byte[0]);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (host.frames.stream().noneMatch(f -> f.id() == 4 && f.type() == MessageType.FS_RESPONSE)) {
                assertTrue(System.nanoTime() < end, host.types().toString());
                Runnable task = loop.poll(10, TimeUnit.MILLISECONDS);
                if (task != null) {
                    task.run();
                }
            }
            assertTrue(response(4).ok(), response(4).toString());
            assertEquals(share, Files.size(windowed));
            assertEquals(0, small.buffers().writes().reserved(), "every Write gave its reservation back");
            assertTrue(host.frames.stream().noneMatch(f -> f.type() == MessageType.CORE_ERROR), host.types().toString());
        } finally {
            stall.countDown();
            small.shutdown();
        }
    }

    @Test
    void aReadSendsItsNextChunkOnlyWhileTheOutputTakesMore() throws Exception {
        Path file = dir.resolve("f");
        Files.write(file, new byte[5 * 4096]);
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();

        host.acceptsOutput = false;
        fs.onRequest(2, new FsRequest(new FsOp.Read(handle, 0, null)));
        Thread.sleep(200); // the worker reads ahead into its buffers, then stops
        while (!loop.isEmpty()) {
            loop.poll().run();
        }
        assertEquals(0, host.of(MessageType.FS_DATA).size(), "no chunk while the output takes nothing");

        host.acceptsOutput = true;
        fs.onOutputResumed();
        runLoopUntil(1 + 5 + 1); // the open's answer, five chunks, the Read's answer
        assertEquals(5, host.of(MessageType.FS_DATA).size());
        assertTrue(response(2).ok());
    }

    @Test
    void aReadOnAHeldIdWaitsForItsReleaseWhileOtherIdsAreServed() throws Exception {
        Path file = dir.resolve("h");
        Files.write(file, new byte[3 * 4096]);
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();

        held.hold(new RelayClientRange(100, 200));
        fs.onRequest(150, new FsRequest(new FsOp.Read(handle, 0, null)));
        Thread.sleep(200); // the worker reads ahead into its buffers, then stops
        while (!loop.isEmpty()) {
            loop.poll().run();
        }
        assertEquals(0, host.of(MessageType.FS_DATA).size(), "nothing of a Read whose id is held");
        fs.onRequest(200, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
        runLoopUntil(2);
        assertTrue(response(200).ok(), "an id outside the held range is served");

        held.release(new RelayClientRange(100, 200));
        fs.onOutputResumed(); // what the connection does when the relay releases a range
        runLoopUntil(2 + 3 + 1); // three chunks, the Read's answer
        assertEquals(3, host.of(MessageType.FS_DATA).size());
        assertTrue(response(150).ok());
    }

    @Test
    void aReadPausedAndResumedAgainAndAgainSendsEveryByteOnceInOrder() throws Exception {
        byte[] content = new byte[37 * 4096 + 1234];
        new Random(7).nextBytes(content);
        Path file = dir.resolve("g");
        Files.write(file, content);
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();

        Random flips = new Random(11);
        fs.onRequest(2, new FsRequest(new FsOp.Read(handle, 0, null), null, true));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (host.frames.stream().noneMatch(f -> f.id() == 2 && f.type() == MessageType.FS_RESPONSE)) {
            assertTrue(System.nanoTime() < deadline, "the Read never ended: " + host.types());
            boolean takes = flips.nextInt(3) > 0;
            host.acceptsOutput = takes;
            if (takes) {
                fs.onOutputResumed();
            }
            Runnable task = loop.poll(10, TimeUnit.MILLISECONDS);
            if (task != null) {
                task.run();
            }
        }
        assertArrayEquals(content, host.fsDataBytes());
        FsResponse done = response(2);
        assertTrue(done.ok(), done.toString());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content)), done.sha256());
    }

    /**
     * A CloseHandle that comes while a ReadDir reads makes it EBADF: the cut stream's iterator just
     * ends, and the ReadDir used to answer ok with what it had, which a host reads as the end of
     * the directory.
     */
    @Test
    void aReadDirCutByItsHandlesCloseIsEbadfNotTheEndOfTheDirectory() throws Exception {
        for (int i = 0; i < 5; i++) {
            Files.writeString(dir.resolve("entry" + i), "x");
        }
        fs.onRequest(1, new FsRequest(new FsOp.OpenDir(dir.toString())));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();
        java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
        fs.pauseMetadataCalls(() -> {
            if (closed.compareAndSet(false, true)) {
                try {
                    fs.handles().get(handle, 1).close(); // as a CloseHandle on the other worker would
                } catch (FsFailure e) {
                    throw new AssertionError(e);
                }
            }
        });
        fs.onRequest(2, new FsRequest(new FsOp.ReadDir(handle, null), null, true));
        runLoopUntil(2);
        assertEquals("EBADF", response(2).errnoName(), response(2).toString());
        assertTrue(response(2).error().contains("the handle was closed"), response(2).error());
    }

    /**
     * A ReadDir limit of 0 is EINVAL: an empty list is the end of the directory, so answering one
     * told the host a directory with entries left was done.
     */
    @Test
    void aReadDirLimitOfZeroIsEinvalNotTheEndOfTheDirectory() throws Exception {
        Files.writeString(dir.resolve("entry"), "x");
        fs.onRequest(1, new FsRequest(new FsOp.OpenDir(dir.toString())));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();
        FsResponse zero = call(2, new FsOp.ReadDir(handle, 0L));
        assertEquals("EINVAL", zero.errnoName(), zero.toString());
        FsResponse one = call(3, new FsOp.ReadDir(handle, 1L));
        assertTrue(one.ok(), one.toString());
        assertEquals(1, ((FsResponseData.Entries) one.data()).entries().size(), "the entry is still there to read");
    }

    /** An fs request on id 0, the control channel, is refused as an exec there is (invalid_session). */
    @Test
    void anFsRequestOnIdZeroIsRefusedAsTheControlChannel() throws Exception {
        fs.onRequest(0, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
        fs.onRequest(0, new FsRequest(new FsOp.Write(1, 0, null), null, true));
        fs.onData(0, new byte[] {1, 2, 3}); // the refused Write's data: dropped quietly
        fs.onData(0, new byte[0]);
        assertEquals("[core.error, core.error]", host.types().toString(), "two refusals, nothing run");
        assertTrue(loop.isEmpty(), "no operation started");
    }

    /**
     * List and ReadDir answers (up to 3 MiB each) are built only while the connection's output
     * takes more, and at most FsAnswerGate.BUILDING_MAX at once agent-wide, and not while every
     * host's queues together are past the agent's budget. Before, 256 Lists of a large directory
     * from a host that read nothing were all answered into its queue, past the JVM's direct-memory
     * limit, and the OutOfMemoryError ended the agent.
     */
    @Test
    void listAnswersWaitForTheOutputAndForRoomInTheAgentsGate() throws Exception {
        FsWorkers shared = new FsWorkers(1);
        boolean[] agentOverBudget = {false};
        shared.limitAnswersBy(() -> agentOverBudget[0]);
        RecordingHost itsHost = new RecordingHost();
        FsService service = connection(shared, itsHost);
        try {
            FsRequest list = new FsRequest(new FsOp.ListDir(dir.toString()), null, true);
            itsHost.acceptsOutput = false;
            service.onRequest(1, list);
            service.onRequest(2, list);
            assertEquals(0, shared.answerGate().building(), "none starts while the output takes nothing");
            Thread.sleep(100); // a List that had started on the worker would have posted its answer by now
            assertTrue(loop.isEmpty(), "no List ran while the output takes nothing");
            itsHost.acceptsOutput = true;
            agentOverBudget[0] = true;
            service.onOutputResumed();
            assertEquals(0, shared.answerGate().building(), "none starts while the agent is past its budget");
            agentOverBudget[0] = false;
            shared.answerRoomBack();
            for (long id = 3; id <= 8; id++) {
                service.onRequest(id, list);
            }
            assertEquals(FsAnswerGate.BUILDING_MAX, shared.answerGate().building(), "at most the gate's room at once");
            runLoopUntil(() -> java.util.stream.LongStream.rangeClosed(1, 8).allMatch(id -> answered(itsHost, id)),
                    itsHost.types()::toString);
            for (long id = 1; id <= 8; id++) {
                assertTrue(responseOn(itsHost, id).ok(), responseOn(itsHost, id).toString());
            }
            assertEquals(0, shared.answerGate().building(), "the room came back");
        } finally {
            shared.shutdown();
        }
    }

    /**
     * A request stopped by its owner's end while its task waits for a worker is not run, and it
     * counts against the connection's requests in progress until its task is done: a host that
     * started requests and ended their owner again and again (a relay's notice on id 0 does it)
     * queued work without bound, which ran, changing files for a host gone, while every other
     * connection's fs waited behind it.
     */
    @Test
    void aStoppedRequestWaitingForAWorkerIsNotRunAndCountsUntilItsTaskEnds() throws Exception {
        FsWorkers one = new FsWorkers(1);
        FsService service = new FsService(loop::add, host, held, one, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(1, 2, 4096, 8192, 16384));
        java.util.concurrent.CountDownLatch paused = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch resume = new java.util.concurrent.CountDownLatch(1);
        try {
            service.onRequest(1, new FsRequest(new FsOp.OpenFile(dir.resolve("f").toString(), CREATE), null, true));
            runLoopUntil(1);
            long handle = ((FsResponseData.Handle) response(1).data()).handle();
            pauseMetadataCallsUntil(service, paused, resume);
            service.onRequest(2, new FsRequest(new FsOp.FStat(handle), null, true)); // holds the one worker
            assertTrue(paused.await(10, TimeUnit.SECONDS), "the worker is held");
            Path made = dir.resolve("made-for-a-host-gone");
            service.onRequest(3, new FsRequest(new FsOp.Mkdir(made.toString(), null), null, true)); // waits behind it
            service.onOwnerGone();
            service.onRequest(4, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            assertEquals("EAGAIN", response(4).errnoName(), "the two stopped tasks still count: " + response(4));
            resume.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (loop.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            while (!loop.isEmpty()) {
                loop.poll().run();
            }
            assertFalse(Files.exists(made), "the Mkdir of a host gone was not run");
            service.onRequest(5, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            runLoopUntil(() -> answered(host, 5), host.types()::toString);
            assertTrue(response(5).ok(), "room again once the stopped tasks ended: " + response(5));
        } finally {
            resume.countDown();
            one.shutdown();
        }
    }

    @Test
    void theOwnerGoneClosesEveryHandle() throws Exception {
        fs.onRequest(1, new FsRequest(new FsOp.OpenDir(dir.toString())));
        runLoopUntil(1);
        assertEquals(1, fs.openHandles());
        fs.onOwnerGone();
        assertEquals(0, fs.openHandles());
        long handle = ((FsResponseData.Handle) response(1).data()).handle();
        fs.onRequest(2, new FsRequest(new FsOp.ReadDir(handle, null)));
        runLoopUntil(2);
        assertTrue(response(2).error().contains("bad handle"), response(2).error());
    }

    @Test
    void closingAHandleEndsAReadBlockedOnItInsteadOfWaitingBehindIt() throws Exception {
        FsWorkers two = new FsWorkers(2);
        FsService service = serviceOn(two);
        try {
            Path fifo = mkfifo("fifo");
            // OpenFile refuses a FIFO now; the handle is made here, standing for a file whose read
            // blocks (NFS). read+write: open(2) does not wait for a peer; nobody ever writes into it.
            long handle = injectFifoHandle(service, fifo, 1);
            service.onRequest(2, new FsRequest(new FsOp.Read(handle, 0, 10L), null, true));
            awaitAWorkerInRead(); // one worker is now blocked in read(2), holding the handle

            service.onRequest(3, new FsRequest(new FsOp.CloseHandle(handle), null, true));
            runLoopUntil(2); // before the fix: the close waited behind the read, both workers stuck
            assertTrue(response(3).ok(), response(3).toString());
            assertEquals("EBADF", response(2).errnoName(), response(2).toString());
            assertTrue(response(2).error().contains("the handle was closed"), response(2).error());
            assertEquals(0, service.openHandles());

            service.onOwnerGone();
            service.onRequest(4, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            service.onRequest(5, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            runLoopUntil(4);
            assertTrue(response(4).ok() && response(5).ok(), "both workers serve again");
        } finally {
            two.shutdown();
        }
    }

    /**
     * A handle whose close fails as its host leaves gets one warning, its path (the host's text)
     * quoted and escaped: a newline in it cannot start a line of its own in the agent's log.
     */
    @Test
    void aHandleThatFailsToCloseIsLoggedWithItsPathEscaped() throws Exception {
        FsWorkers two = new FsWorkers(2);
        FsService service = serviceOn(two);
        var lines = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        lines.start();
        var logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(FsService.class);
        logger.addAppender(lines);
        try {
            Path path = dir.resolve("evil\n2026-12-04T00:00:00Z ERROR forged");
            service.handles().add(new FsHandle(service.handles().nextNumber(), 1, path) {
                @Override
                void release(boolean complete) throws FsFailure {
                    throw new FsFailure(5, "close: Input/output error (os error 5)");
                }
            });
            service.onOwnerGone();
            String warning = null;
            for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); warning == null; Thread.sleep(10)) {
                assertTrue(System.nanoTime() < deadline, "no warning from the closing thread");
                warning = List.copyOf(lines.list).stream().map(e -> e.getFormattedMessage())
                        .filter(m -> m.startsWith("closing fs handle")).findFirst().orElse(null);
            }
            assertFalse(warning.contains("\n"), warning);
            assertTrue(warning.contains("(\"" + dir + "/evil\\n2026-12-04T00:00:00Z ERROR forged\")"), warning);
        } finally {
            logger.detachAppender(lines);
            two.shutdown();
        }
    }

    /**
     * Closing the handles of an owner that left happens off the loop: a close that waits (here a
     * release that blocks, standing for FileChannel.close waiting on a read of a hung FUSE or NFS
     * file) holds up neither the loop nor the workers. Before, onOwnerGone closed them on the loop
     * and waited with it: every host of the agent stopped.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void aCloseThatWaitsHoldsUpNeitherTheLoopNorTheWorkers() throws Exception {
        java.util.concurrent.CountDownLatch hung = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch closing = new java.util.concurrent.CountDownLatch(1);
        fs.handles().add(new FsHandle(fs.handles().nextNumber(), 1, dir.resolve("on-a-hung-mount")) {
            @Override
            void release(boolean complete) {
                closing.countDown();
                try {
                    hung.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        FsHandleBudget budget = workers.handleBudget();
        long heldBefore = budget.held();
        try {
            fs.onOwnerGone(); // returns: the close waits on another thread
            assertTrue(closing.await(10, TimeUnit.SECONDS), "the close began");
            assertEquals(0, fs.openHandles());
            assertEquals(heldBefore, budget.held(), "a descriptor a close holds stays counted");
            fs.onRequest(2, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            runLoopUntil(1);
            assertTrue(response(2).ok(), "the workers serve on");
        } finally {
            hung.countDown();
        }
        awaitHeld(budget, heldBefore - 1, "its room comes back once it is closed");
    }

    /**
     * One close stuck on a hung mount holds up no other connection's closes: those run on other
     * closing threads, and their room in the handle budget comes back. Before, one closing thread
     * for the agent left every later close queued behind the stuck one for good.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void aStuckCloseHoldsUpNoOtherConnectionsCloses() throws Exception {
        FsHandleBudget budget = new FsHandleBudget(10);
        FsWorkers shared = new FsWorkers(1, 1 << 20, 1 << 20, budget);
        RecordingHost aHost = new RecordingHost();
        RecordingHost bHost = new RecordingHost();
        FsService a = connection(shared, aHost);
        FsService b = connection(shared, bHost);
        java.util.concurrent.CountDownLatch hung = new java.util.concurrent.CountDownLatch(1);
        try {
            a.handles().add(new FsHandle(a.handles().nextNumber(), 1, dir.resolve("on-a-hung-mount")) {
                @Override
                void release(boolean complete) {
                    try {
                        hung.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            Path file = Files.writeString(dir.resolve("plain"), "x");
            assertTrue(open(b, bHost, 1, file).ok());
            assertEquals(2, budget.held());
            a.onOwnerGone(); // its close sticks
            b.onOwnerGone(); // its close must not wait behind that one
            awaitHeld(budget, 1, "the other connection's close waited");
        } finally {
            hung.countDown();
            shared.shutdown();
        }
    }

    /** A service of its own on {@code workers} (two, shared by its requests as the agent's are). */
    private FsService serviceOn(FsWorkers workers) {
        return new FsService(loop::add, host, held, workers, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(2, 8, 4096, 8192, 16384));
    }

    private Path mkfifo(String name) throws Exception {
        Path fifo = dir.resolve(name);
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        return fifo;
    }

    /** A handle on {@code fifo} opened read+write by the test, put in the service's table as OpenFile would. */
    private static long injectFifoHandle(FsService service, Path fifo, long openedBy) throws Exception {
        return injectFifoHandle(service, fifo, openedBy, java.util.function.UnaryOperator.identity());
    }

    /** As above, the channel passed through {@code asFsOpensIt} (WaitFreeFiles::neverWait, as FsRegularFiles.open does). */
    private static long injectFifoHandle(FsService service, Path fifo, long openedBy,
            java.util.function.UnaryOperator<java.nio.channels.FileChannel> asFsOpensIt) throws Exception {
        java.nio.channels.FileChannel ch = asFsOpensIt.apply(java.nio.channels.FileChannel.open(fifo,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE));
        long number = service.handles().nextNumber();
        service.handles().add(new FsHandle.File(number, openedBy, fifo, ch, true, true, false, null));
        return number;
    }

    @Test
    void aFifoASocketOrADeviceIsRefusedAtOnceAndNeverHoldsAWorker() throws Exception {
        FsWorkers two = new FsWorkers(2);
        FsService service = serviceOn(two);
        try {
            Path fifo = mkfifo("fifo");
            Path link = dir.resolve("link-to-fifo");
            Files.createSymbolicLink(link, fifo);
            FsOpenOptions read = FsOpenOptions.reading();
            FsOpenOptions readWrite = new FsOpenOptions(true, true, false, false, false, false, null, false);
            // Before the fix: 1 and 2 blocked both workers in open(2) for good (no writer ever comes).
            service.onRequest(1, new FsRequest(new FsOp.OpenFile(fifo.toString(), read), null, true));
            service.onRequest(2, new FsRequest(new FsOp.OpenFile(link.toString(), read), null, true));
            service.onRequest(3, new FsRequest(new FsOp.OpenFile(fifo.toString(), readWrite), null, true));
            service.onRequest(4, new FsRequest(new FsOp.SetStat(fifo.toString(), true,
                    new FsSetAttrs(null, null, null, 0L, null, null)), null, true));
            service.onRequest(5, new FsRequest(new FsOp.OpenFile("/dev/null", read), null, true));
            service.onRequest(6, new FsRequest(new FsOp.OpenFile(dir.toString(), read), null, true));
            runLoopUntil(6);
            for (long id = 1; id <= 4; id++) {
                FsResponse r = response(id);
                assertEquals("EINVAL", r.errnoName(), r.toString());
                assertTrue(r.error().contains("a FIFO, not a regular file"), r.error());
            }
            assertEquals("EINVAL", response(5).errnoName(), response(5).toString());
            assertTrue(response(5).error().contains("a character device"), response(5).error());
            assertEquals("EISDIR", response(6).errnoName(), response(6).toString());
            assertEquals(0, service.openHandles());

            Path file = dir.resolve("plain");
            service.onRequest(7, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.replacing(null)), null, true));
            service.onRequest(8, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            runLoopUntil(8);
            assertTrue(response(7).ok() && response(8).ok(), "both workers serve: " + response(7));
            assertTrue(Files.isRegularFile(file));
        } finally {
            two.shutdown();
        }
    }

    /**
     * ListDir, OpenDir and a no-follow SetStat of a mode name a FIFO without opening it: the JDK's
     * directory stream and its no-follow chmod open the path O_RDONLY without O_NONBLOCK, which held
     * a worker in open(2) until a writer came (before the fix the first two requests took both
     * workers for good and nothing after them was answered).
     */
    @Test
    void listingOrChmoddingAFifoNeverOpensItOrHoldsAWorker() throws Exception {
        FsWorkers two = new FsWorkers(2);
        FsService service = serviceOn(two);
        try {
            Path fifo = mkfifo("fifo");
            Path link = dir.resolve("link-to-fifo");
            Files.createSymbolicLink(link, fifo);
            Files.writeString(dir.resolve("entry"), "x");
            service.onRequest(1, new FsRequest(new FsOp.ListDir(fifo.toString()), null, true));
            service.onRequest(2, new FsRequest(new FsOp.OpenDir(link.toString()), null, true));
            service.onRequest(3, new FsRequest(new FsOp.SetStat(fifo.toString(), false,
                    new FsSetAttrs(0600L, null, null, null, null, null)), null, true));
            service.onRequest(4, new FsRequest(new FsOp.SetStat(link.toString(), false,
                    new FsSetAttrs(0600L, null, null, null, null, null)), null, true));
            service.onRequest(5, new FsRequest(new FsOp.ListDir(dir.toString()), null, true));
            runLoopUntil(5);
            assertEquals("ENOTDIR", response(1).errnoName(), response(1).toString());
            assertEquals("ENOTDIR", response(2).errnoName(), response(2).toString());
            assertTrue(response(3).ok(), "the FIFO's own mode is set: " + response(3));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fifo,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS)));
            assertEquals(95, response(4).errno(), "a link has no mode of its own (EOPNOTSUPP): " + response(4));
            FsResponse listed = response(5);
            assertTrue(listed.ok(), listed.toString());
            java.util.List<String> names = ((FsResponseData.Entries) listed.data()).entries().stream()
                    .map(FsEntryInfo::path).sorted().toList();
            assertEquals(java.util.List.of(dir.resolve("entry").toString(), fifo.toString(), link.toString()), names,
                    "entries named under the directory the host gave, not /proc/self/fd");
            assertEquals(0, service.openHandles());
        } finally {
            two.shutdown();
        }
    }

    /**
     * A file stat calls regular but whose reads wait until data comes (/proc/kmsg until the kernel
     * logs, tracefs's trace_pipe, a FUSE stream; reading the real ones here would take the machine's
     * kernel messages) is stood for by a FIFO, its handle made as fs opens files (WaitFreeFiles):
     * before the fix, two such Reads held both workers in read(2) and stopped every host's file
     * operations until their host left, and a Write into one that takes nothing held a worker too.
     */
    @Test
    void aReadOrWriteOfAFileThatWaitsIsEagainAtOnceAndNeverHoldsAWorker() throws Exception {
        FsWorkers two = new FsWorkers(2);
        FsService service = serviceOn(two);
        try {
            Path fifo = mkfifo("fifo");
            long first = injectFifoHandle(service, fifo, 1, WaitFreeFiles::neverWait);
            long second = injectFifoHandle(service, fifo, 1, WaitFreeFiles::neverWait);
            service.onRequest(2, new FsRequest(new FsOp.Read(first, 0, 10L), null, true));
            service.onRequest(3, new FsRequest(new FsOp.Read(second, 0, 10L), null, true));
            service.onRequest(4, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            for (long id = 2; id <= 3; id++) {
                FsResponse r = awaitResponse(id);
                assertEquals("EAGAIN", r.errnoName(), r.toString());
                assertTrue(r.error().contains("no data to read now"), r.error());
            }
            assertTrue(awaitResponse(4).ok(), "the workers serve others meanwhile");

            try (java.nio.channels.FileChannel filler = java.nio.channels.FileChannel.open(fifo,
                    java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
                filler.write(java.nio.ByteBuffer.allocate(64 * 1024)); // the pipe holds this much: full
                service.onRequest(5, new FsRequest(new FsOp.Write(first, 0, null, true), null, true));
                while (creditGranted(5) < 4096) {
                    Runnable task = loop.poll(10, TimeUnit.SECONDS);
                    assertTrue(task != null, "no credit for the write: " + host.types());
                    task.run();
                }
                service.onData(5, new byte[4096]);
                service.onData(5, new byte[0]);
                FsResponse refused = awaitResponse(5);
                assertEquals("EAGAIN", refused.errnoName(), refused.toString());
                assertTrue(refused.error().contains("takes no data now"), refused.error());
            }
            service.onRequest(6, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            service.onRequest(7, new FsRequest(new FsOp.Stat(dir.toString(), true), null, true));
            assertTrue(awaitResponse(6).ok() && awaitResponse(7).ok(), "both workers are free");
        } finally {
            service.onOwnerGone();
            two.shutdown();
        }
    }

    /** Only a file that waits for data is one a Copy refuses before reading: a disk file always has its data. */
    @Test
    void pollTellsAFileThatWaitsForDataFromADiskFile() throws Exception {
        Path fifo = mkfifo("fifo");
        Path file = Files.writeString(dir.resolve("file"), "");
        try (java.nio.channels.FileChannel stream = WaitFreeFiles.neverWait(java.nio.channels.FileChannel.open(fifo,
                     java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE));
             java.nio.channels.FileChannel disk = FsRegularFiles.open(file,
                     java.util.Set.of(java.nio.file.StandardOpenOption.READ), null, "test")) {
            assertTrue(WaitFreeFiles.readWouldWait(stream), "an empty FIFO waits");
            assertFalse(WaitFreeFiles.readWouldWait(disk), "an empty disk file is at its end, not waiting");
            stream.write(java.nio.ByteBuffer.wrap(new byte[] {1}));
            assertFalse(WaitFreeFiles.readWouldWait(stream), "a FIFO with data does not wait");
            assertTrue(nonBlocking(disk), "fs opens its files O_NONBLOCK");
        }
    }

    /** O_NONBLOCK in the kernel's view of the channel's descriptor (/proc/self/fdinfo). */
    private static boolean nonBlocking(java.nio.channels.FileChannel channel) throws Exception {
        int fd = ChannelDescriptor.fd(channel);
        String flags = Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd)).stream()
                .filter(line -> line.startsWith("flags:")).findFirst().orElseThrow();
        return (Integer.parseInt(flags.substring("flags:".length()).trim(), 8) & 04000) != 0;
    }

    /** Runs loop tasks until the answer to {@code id} came (or fails after 10 s). */
    private FsResponse awaitResponse(long id) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (host.frames.stream().noneMatch(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)) {
            Runnable task = loop.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (task == null) {
                throw new AssertionError("no answer to " + id + " within 10 s: " + host.types());
            }
            task.run();
        }
        return response(id);
    }

    /**
     * Moved here from FsTransferE2ETest when OpenFile began to refuse FIFOs: a FIFO nobody reads,
     * put in the handle table by the test, stands for a file that takes no data.
     */
    @Test
    void creditStopsWhileTheFileTakesNothingAndOldHostsAreRefusedPastTheBuffer() throws Exception {
        long window = 64 * 1024;
        long buffer = 256 * 1024;
        FsWorkers two = new FsWorkers(2);
        FsService service = new FsService(loop::add, host, held, two, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(2, 8, 4096, window, buffer));
        try {
            Path fifo = mkfifo("fifo");
            long h = injectFifoHandle(service, fifo, 1);
            service.onRequest(2, new FsRequest(new FsOp.Write(h, 0, null, true), null, true));
            long sent = 0;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            while (System.nanoTime() < deadline) {
                long granted = creditGranted(2);
                while (sent + 4096 <= granted) {
                    service.onData(2, new byte[4096]);
                    sent += 4096;
                }
                Runnable task = loop.poll(10, TimeUnit.MILLISECONDS);
                if (task != null) {
                    task.run();
                }
            }
            long granted = creditGranted(2);
            // what is held (the window, topped up at half) plus what the pipe took (64 KiB)
            assertTrue(granted >= window && granted <= 2 * window + 64 * 1024,
                    "credit while the file takes nothing: " + granted);
            assertTrue(host.frames.stream().noneMatch(f -> f.id() == 2 && f.type() == MessageType.FS_RESPONSE),
                    "no answer while the write is held up");

            // A host without flow control, on another FIFO nobody reads: past the buffer it is refused,
            // what is queued is given back at once, and the answer waits for the buffer the worker
            // was writing, so that it counts exactly what the file got (before, it was answered at
            // once, its count short, and the buffer landed after it).
            Path other = mkfifo("other");
            long h2 = injectFifoHandle(service, other, 1);
            long reservedBefore = two.buffers().writes().reserved();
            service.onRequest(3, new FsRequest(new FsOp.Write(h2, 0, null), null, true));
            service.onData(3, new byte[128 * 1024]); // to the worker at once; it blocks once the pipe's 64 KiB are full
            while (!loop.isEmpty()) {
                loop.poll().run();
            }
            Thread.sleep(200);
            for (long n = 0; n <= buffer + 2 * 16384; n += 16384) {
                service.onData(3, new byte[16384]);
                while (!loop.isEmpty()) {
                    loop.poll().run();
                }
            }
            service.onData(3, new byte[0]);
            Thread.sleep(300);
            while (!loop.isEmpty()) {
                loop.poll().run();
            }
            assertTrue(host.frames.stream().noneMatch(f -> f.id() == 3 && f.type() == MessageType.FS_RESPONSE),
                    "no answer while a buffer is still being written: " + host.types());
            assertTrue(two.buffers().writes().reserved() - reservedBefore <= FsBuffers.BYTES,
                    "only the buffer being written is held: " + (two.buffers().writes().reserved() - reservedBefore));
            java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
            Thread reader = new Thread(() -> {
                try (java.io.InputStream in = Files.newInputStream(other)) {
                    byte[] b = new byte[65536];
                    for (int n; (n = in.read(b)) > 0; ) {
                        read.addAndGet(n);
                    }
                } catch (java.io.IOException e) {
                    // the handle closed under it at the end
                }
            }, "fifo-reader");
            reader.setDaemon(true);
            reader.start();
            FsResponse refused = awaitResponse(3);
            assertEquals("ENOBUFS", refused.errnoName(), refused.toString());
            java.util.regex.Matcher count = java.util.regex.Pattern.compile("; (\\d+) bytes written at offset 0,"
                    + " nothing after").matcher(refused.error());
            assertTrue(count.find(), refused.error());
            long answered = Long.parseLong(count.group(1));
            assertEquals(128 * 1024, answered, "the buffer that was being written: " + refused.error());
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (read.get() < answered && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            Thread.sleep(200);
            assertEquals(answered, read.get(), "the answer counts exactly what reached the file, nothing after it");
            assertTrue(host.frames.stream().noneMatch(f -> f.type() == MessageType.CORE_ERROR),
                    "the rest of the refused write is dropped quietly: " + host.types());
        } finally {
            service.onOwnerGone(); // closes both handles: the blocked writes end, the workers are free
            two.shutdown();
        }
    }

    private long creditGranted(long id) {
        return host.frames.stream().filter(f -> f.id() == id && f.type() == MessageType.FS_CREDIT)
                .mapToLong(f -> ((io.agentd.protocol.payload.ExecStdinCredit) f.payload()).bytes()).sum();
    }

    /**
     * A size set on an append handle extends the file (ftruncate, which O_APPEND does not touch) or
     * shrinks it; on a read-only handle it is EBADF. Before ftruncate, the agent extended a file by
     * writing a zero byte at its new end, which O_APPEND sent to the end instead (once a file one
     * byte longer, then refused with EINVAL).
     */
    @Test
    void fsetstatSizeOnAnAppendHandleResizesAndOnAReadOnlyOneIsATypedRefusal() throws Exception {
        Path file = dir.resolve("appended");
        Files.writeString(file, "0123456789");
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(),
                new FsOpenOptions(false, false, true, false, false, false, null, false))));
        runLoopUntil(1);
        long append = ((FsResponseData.Handle) response(1).data()).handle();
        fs.onRequest(2, new FsRequest(new FsOp.FSetStat(append, new FsSetAttrs(null, null, null, 1000L, null, null)),
                null, true));
        runLoopUntil(2);
        assertTrue(response(2).ok(), response(2).toString());
        byte[] extended = Files.readAllBytes(file);
        assertEquals(1000, extended.length);
        assertEquals("0123456789", new String(extended, 0, 10, java.nio.charset.StandardCharsets.US_ASCII));
        for (int i = 10; i < 1000; i++) {
            assertEquals(0, extended[i], "zeros past the old end, at " + i);
        }
        fs.onRequest(3, new FsRequest(new FsOp.FSetStat(append, new FsSetAttrs(null, null, null, 4L, null, null)),
                null, true));
        runLoopUntil(3);
        assertTrue(response(3).ok(), response(3).toString());
        assertEquals("0123", Files.readString(file), "shrinking an append handle works");

        fs.onRequest(4, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
        runLoopUntil(4);
        long readOnly = ((FsResponseData.Handle) response(4).data()).handle();
        // Before the fix: EIO "internal error" (NonWritableChannelException was not caught).
        fs.onRequest(5, new FsRequest(new FsOp.FSetStat(readOnly, new FsSetAttrs(null, null, null, 1L, null, null)),
                null, true));
        runLoopUntil(5);
        assertEquals("EBADF", response(5).errnoName(), response(5).toString());
        assertTrue(response(5).error().contains("not opened for writing"), response(5).error());
        assertEquals("0123", Files.readString(file));
    }

    /**
     * Extending a file takes no block: the kernel's hole (ftruncate), as truncate(1) makes. The
     * agent's write of one zero byte at the new end took a block (ENOSPC on a full disk, where
     * truncate(1) succeeds) and could replace a last byte another process wrote meanwhile.
     */
    @Test
    void setstatExtendsAFileWithAHole() throws Exception {
        Path file = Files.createFile(dir.resolve("sparse"));
        fs.onRequest(1, new FsRequest(new FsOp.SetStat(file.toString(), true,
                new FsSetAttrs(null, null, null, 64L << 20, null, null)), null, true));
        runLoopUntil(1);
        assertTrue(response(1).ok(), response(1).toString());
        assertEquals(64L << 20, Files.size(file));
        Process stat = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String blocks = new String(stat.getInputStream().readAllBytes()).trim();
        assertEquals(0, stat.waitFor(), blocks);
        assertEquals("0", blocks, "blocks allocated to a file extended from empty");
    }

    /**
     * A SetStat with a size and follow_symlink false on a link sets nothing through it: the host
     * asked for the name itself (lstat's answer, which a guest user may have swapped for a link to
     * /etc/shadow since). The size was set on the link's target whatever the flag said.
     */
    @Test
    void aNoFollowSetstatOfASizeNeverTruncatesThroughALink() throws Exception {
        Path target = Files.writeString(dir.resolve("target"), "secret");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        fs.onRequest(1, new FsRequest(new FsOp.SetStat(link.toString(), false,
                new FsSetAttrs(null, null, null, 0L, null, null)), null, true));
        runLoopUntil(1);
        assertEquals("EINVAL", response(1).errnoName(), response(1).toString());
        assertTrue(response(1).error().contains("a symbolic link"), response(1).error());
        assertEquals("secret", Files.readString(target), "the link's target is untouched");

        fs.onRequest(2, new FsRequest(new FsOp.SetStat(link.toString(), true,
                new FsSetAttrs(null, null, null, 2L, null, null)), null, true));
        runLoopUntil(2);
        assertTrue(response(2).ok(), response(2).toString());
        assertEquals("se", Files.readString(target), "with follow_symlink, through the link");
    }

    /**
     * FStat and FSetStat act on the file the handle has open, not on whatever its name means later:
     * here the name is moved away and a link to another file put in its place, as a guest process
     * could; the answer still names the handle's path.
     */
    @Test
    void fstatAndFsetstatActOnTheOpenFileNotOnWhatItsNameNowNames() throws Exception {
        Path file = dir.resolve("opened");
        Path other = dir.resolve("other");
        Files.writeString(file, "the opened file");
        Files.writeString(other, "x");
        Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();
        Path moved = dir.resolve("moved");
        Files.move(file, moved);
        Files.createSymbolicLink(file, other);

        fs.onRequest(2, new FsRequest(new FsOp.FStat(handle)));
        runLoopUntil(2);
        FsEntryInfo stat = ((FsResponseData.Stat) response(2).data()).info();
        assertEquals("the opened file".length(), stat.size(), "the open file's size, not the link target's");
        assertEquals(file.toString(), stat.path(), "named by the handle's path");

        fs.onRequest(3, new FsRequest(new FsOp.FSetStat(handle, new FsSetAttrs(0640L, null, null, null, null, null))));
        runLoopUntil(3);
        assertTrue(response(3).ok(), response(3).toString());
        assertEquals("rw-r-----", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(moved)), "the open file got the mode");
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(other)), "the link's target is untouched");
    }

    /** The open through /proc/self/fd/N (regular files only) keeps the user's rights: the kernel checks the file. */
    @Test
    void aUsersOpenThroughTheCheckedDescriptorKeepsTheKernelsPermissionChecks() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to take nobody's rights");
        Path shared = Files.createTempDirectory(Path.of("/tmp"), "agentd-fs-user-");
        try {
            Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path file = shared.resolve("readable");
            Files.writeString(file, "hello");
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
            fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.reading()), "nobody", true));
            fs.onRequest(2, new FsRequest(new FsOp.OpenFile(file.toString(),
                    new FsOpenOptions(false, true, false, false, false, false, null, false)), "nobody", true));
            runLoopUntil(2);
            assertTrue(response(1).ok(), response(1).toString());
            assertEquals("EACCES", response(2).errnoName(), response(2).toString());
            assertEquals("hello", Files.readString(file));
        } finally {
            try (var files = Files.walk(shared)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aWritePastItsLenWritesTheChunksBeforeAndCountsThemExactly() throws Exception {
        Path file = dir.resolve("w");
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(), FsOpenOptions.replacing(null))));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();

        fs.onRequest(2, new FsRequest(new FsOp.Write(handle, 0, 12L, false), null, true));
        // The loop (this thread) runs nothing in between: the first chunk is on the worker, the
        // second waits on the loop, the third passes len while neither is counted as written yet.
        fs.onData(2, "AAAAAAAA".getBytes());
        fs.onData(2, "BBBB".getBytes());
        fs.onData(2, "CCCCCCCC".getBytes());
        fs.onData(2, new byte[0]);
        runLoopUntil(2);
        FsResponse refused = response(2);
        assertEquals("EINVAL", refused.errnoName(), refused.toString());
        assertTrue(refused.error().contains("; 12 bytes written at offset 0"), refused.error());
        assertEquals("AAAAAAAABBBB", Files.readString(file), "the chunks within len, nothing of the one past it");
    }

    @Test
    void aReadLenIsUnsignedAndAnOffsetPastTheLargestIsATypedEinval() throws Exception {
        Path file = dir.resolve("r");
        Files.writeString(file, "hello");
        fs.onRequest(1, new FsRequest(new FsOp.OpenFile(file.toString(),
                new FsOpenOptions(true, true, false, false, false, false, null, false))));
        runLoopUntil(1);
        long handle = ((FsResponseData.Handle) response(1).data()).handle();

        fs.onRequest(2, new FsRequest(new FsOp.Read(handle, 0, -1L), null, true)); // 2^64-1: all of it
        runLoopUntil(3);
        assertTrue(response(2).ok(), response(2).toString());
        fs.onRequest(3, new FsRequest(new FsOp.Read(handle, 0, Long.MIN_VALUE), null, true)); // 2^63
        runLoopUntil(5);
        assertTrue(response(3).ok(), response(3).toString());
        assertEquals("hellohello", new String(host.fsDataBytes()), "each Read sent the whole file");

        fs.onRequest(4, new FsRequest(new FsOp.Read(handle, -1L, null), null, true)); // offset 2^64-1
        runLoopUntil(6);
        FsResponse read = response(4);
        assertEquals("EINVAL", read.errnoName(), read.toString());
        assertTrue(read.error().endsWith("(os error 22)") && read.error().contains("18446744073709551615"),
                read.error());

        fs.onRequest(5, new FsRequest(new FsOp.Write(handle, Long.MIN_VALUE, 1L, false), null, true));
        fs.onData(5, new byte[] {'x'});
        fs.onData(5, new byte[0]);
        runLoopUntil(7);
        FsResponse write = response(5);
        assertEquals("EINVAL", write.errnoName(), write.toString());
        assertTrue(write.error().endsWith("(os error 22)"), write.error());
        assertEquals("hello", Files.readString(file));

        // Nothing to read or write: the offset is still checked (before, both answered ok: true).
        fs.onRequest(6, new FsRequest(new FsOp.Read(handle, Long.MIN_VALUE, 0L), null, true));
        fs.onRequest(7, new FsRequest(new FsOp.Write(handle, Long.MIN_VALUE, null, false), null, true));
        fs.onData(7, new byte[0]);
        runLoopUntil(9);
        assertEquals("EINVAL", response(6).errnoName(), response(6).toString());
        assertEquals("EINVAL", response(7).errnoName(), response(7).toString());
    }

    @Test
    void anAttributeThatCannotBeSetIsEinvalWithNothingApplied() throws Exception {
        Path file = dir.resolve("a");
        Files.writeString(file, "hello");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        FileTime before = Files.getLastModifiedTime(file);
        long overflowsMillis = 1L << 62;
        fs.onRequest(1, new FsRequest(new FsOp.SetStat(file.toString(), true,
                new FsSetAttrs(0600L, null, null, null, null, overflowsMillis)), null, true));
        runLoopUntil(1);
        FsResponse setStat = response(1);
        assertEquals("EINVAL", setStat.errnoName(), setStat.toString());
        assertTrue(setStat.error().contains("mtime " + overflowsMillis) && setStat.error().endsWith("(os error 22)"),
                setStat.error());
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), "mode not applied");

        fs.onRequest(2, new FsRequest(new FsOp.OpenFile(file.toString(),
                new FsOpenOptions(false, true, false, false, false, false, null, false))));
        runLoopUntil(2);
        long handle = ((FsResponseData.Handle) response(2).data()).handle();
        // One past what the JDK can set (it would silently set 2262 instead).
        fs.onRequest(3, new FsRequest(new FsOp.FSetStat(handle,
                new FsSetAttrs(0600L, null, null, 2L, FsSetAttrs.MAX_TIME_SECONDS + 1, null)), null, true));
        runLoopUntil(3);
        assertEquals("EINVAL", response(3).errnoName(), response(3).toString());
        assertEquals("hello", Files.readString(file), "size not applied");
        assertEquals(before, Files.getLastModifiedTime(file));

        fs.onRequest(4, new FsRequest(new FsOp.FSetStat(handle,
                new FsSetAttrs(null, null, null, null, null, FsSetAttrs.MAX_TIME_SECONDS)), null, true));
        runLoopUntil(4);
        assertTrue(response(4).ok(), response(4).toString());
        assertEquals(FsSetAttrs.MAX_TIME_SECONDS, Files.getLastModifiedTime(file).to(TimeUnit.SECONDS), "the largest time is set");
    }

    @Test
    void atomicUploadsOfNamesUpTo255BytesFitTheirTemporaryNameUnderNameMax() throws Exception {
        String ascii = "M".repeat(250);
        String threeByteChars = "\u65e5".repeat(85); // 255 bytes in UTF-8
        String mixed = "a" + "\ud83d\ude00".repeat(63) + "b"; // 1 + 252 + 1 bytes: a cut must not split a pair
        long id = 10;
        for (String name : new String[] {ascii, threeByteChars, mixed}) {
            Path file = dir.resolve(name);
            fs.onRequest(id, new FsRequest(new FsOp.OpenFile(file.toString(),
                    new FsOpenOptions(false, true, false, true, true, false, null, true)), null, true));
            runLoopUntil(host.frames.size() + 1);
            FsResponse open = response(id);
            assertTrue(open.ok(), name.length() + " chars: " + open);
            long handle = ((FsResponseData.Handle) open.data()).handle();
            try (var listing = Files.list(dir)) {
                String temp = listing.map(p -> p.getFileName().toString()).filter(n -> n.contains(".agentd-"))
                        .findFirst().orElseThrow();
                assertTrue(temp.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 255, temp);
                assertTrue(temp.startsWith("." + name.substring(0, 10)), temp);
                assertFalse(temp.contains("\ufffd"), "no character cut in half: " + temp);
            }
            fs.onRequest(id + 1, new FsRequest(new FsOp.CloseHandle(handle), null, true));
            runLoopUntil(host.frames.size() + 1);
            assertTrue(response(id + 1).ok(), response(id + 1).toString());
            assertTrue(Files.isRegularFile(file), name);
            id += 2;
        }
    }

    @Test
    void anAtomicUploadOverAFileKeepsItsOwnerAndModeWhateverModeIsGiven() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "chown needs root");
        Path file = dir.resolve("private");
        Files.writeString(file, "secret");
        Files.setAttribute(file, "unix:uid", 65534);
        Files.setAttribute(file, "unix:gid", 65534);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

        uploadAtomically(1, file, null);
        assertEquals(65534, Files.getAttribute(file, "unix:uid"));
        assertEquals(65534, Files.getAttribute(file, "unix:gid"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                "not root's default 0644: the old file was private");

        uploadAtomically(3, file, 0644L); // what agentctl cp sends: the source's mode
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                "mode is for a file the open creates, as open(2)'s: the private file stays private");
        assertEquals(65534, Files.getAttribute(file, "unix:uid"));

        Path fresh = dir.resolve("fresh");
        fs.onRequest(5, new FsRequest(new FsOp.OpenFile(fresh.toString(),
                new FsOpenOptions(false, true, false, true, true, false, 0640L, true)), null, true));
        runLoopUntil(host.frames.size() + 1);
        long handle = ((FsResponseData.Handle) response(5).data()).handle();
        fs.onRequest(6, new FsRequest(new FsOp.CloseHandle(handle), null, true));
        runLoopUntil(host.frames.size() + 1);
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)),
                "a file the upload creates takes the mode given");
    }

    @Test
    void anAtomicUploadClosedBetweenTheChunksOfAWriteIsDroppedNeverRenamedHalfWritten() throws Exception {
        Path file = dir.resolve("dest");
        Files.writeString(file, "OLD CONTENT, complete");
        long handle = openForWrite(1, file, true);
        fs.onRequest(2, new FsRequest(new FsOp.Write(handle, 0, 1000L, false), null, true));
        fs.onData(2, new byte[512]);
        awaitBytesIn(tempOf(file), 512); // the Write waits for the host's next chunk, holding no lock

        fs.onRequest(3, new FsRequest(new FsOp.CloseHandle(handle), null, true));
        runLoopUntil(2);
        // Before the fix: ok, the temporary file (512 of 1000 bytes) renamed over the destination.
        assertFalse(response(3).ok(), response(3).toString());
        assertEquals("EIO", response(3).errnoName(), response(3).toString());
        assertTrue(response(3).error().contains("left unchanged"), response(3).error());
        assertEquals("OLD CONTENT, complete", Files.readString(file));

        fs.onData(2, new byte[488]);
        fs.onData(2, new byte[0]);
        runLoopUntil(3);
        assertEquals("EBADF", response(2).errnoName(), response(2).toString());
        assertEquals("OLD CONTENT, complete", Files.readString(file));
        assertEquals(java.util.List.of(file), listDir(), "no temporary file left");
        assertEquals(0, fs.openHandles());
    }

    @Test
    void anAtomicUploadClosedBeforeItsWriteWasAnsweredIsDroppedEvenWithAllItsBytesIn() throws Exception {
        Path file = dir.resolve("dest");
        Files.writeString(file, "OLD CONTENT, complete");
        long handle = openForWrite(1, file, true);
        fs.onRequest(2, new FsRequest(new FsOp.Write(handle, 0, 1000L, false), null, true));
        fs.onData(2, new byte[500]);
        fs.onData(2, new byte[500]);
        awaitBytesIn(tempOf(file), 1000); // every byte in, the host's empty chunk not here yet

        fs.onRequest(3, new FsRequest(new FsOp.CloseHandle(handle), null, true));
        runLoopUntil(2);
        // Before the fix: ok and renamed; the Write, still in progress, then answered ok as well.
        assertEquals("EIO", response(3).errnoName(), response(3).toString());
        fs.onData(2, new byte[0]);
        runLoopUntil(3);
        assertEquals("EBADF", response(2).errnoName(), response(2).toString());
        assertTrue(response(2).error().contains("closed before the Write ended; 1000 bytes written"),
                response(2).error());
        assertEquals("OLD CONTENT, complete", Files.readString(file));
        assertEquals(java.util.List.of(file), listDir(), "no temporary file left");
    }

    @Test
    void aWriteInPlaceClosedBetweenItsChunksKeepsWhatWasWrittenAndItsCloseSucceeds() throws Exception {
        Path file = dir.resolve("in-place");
        Files.writeString(file, "OLD CONTENT, complete");
        long handle = openForWrite(1, file, false);
        fs.onRequest(2, new FsRequest(new FsOp.Write(handle, 0, 1000L, false), null, true));
        fs.onData(2, new byte[512]);
        awaitBytesIn(file, 512);

        fs.onRequest(3, new FsRequest(new FsOp.CloseHandle(handle), null, true));
        runLoopUntil(2);
        assertTrue(response(3).ok(), response(3).toString()); // as documented: nothing to drop in place
        fs.onData(2, new byte[488]);
        fs.onData(2, new byte[0]);
        runLoopUntil(3);
        assertEquals("EBADF", response(2).errnoName(), response(2).toString());
        assertArrayEquals(new byte[512], Files.readAllBytes(file));
    }

    @Test
    void anFSetStatRacingCloseHandleActsOnItsOwnFileNeverOnOneOpenedSinceWithItsDescriptorNumber() throws Exception {
        Path mine = dir.resolve("mine");
        Path other = dir.resolve("other");
        Files.writeString(mine, "abc");
        Files.writeString(other, "other");
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-r--r--"));
        FsResponse answer = closeDuringMetadataCall(mine, other, handle -> new FsOp.FSetStat(handle,
                new FsSetAttrs(0600L, null, null, null, null, null)));
        // Before the fix: the close freed the descriptor mid-FSetStat, "other" took its number and got the chmod.
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(other)));
        assertTrue(answer.ok(), answer.toString());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(mine)));
    }

    @Test
    void anFStatRacingCloseHandleReadsItsOwnFileNeverOneOpenedSinceWithItsDescriptorNumber() throws Exception {
        Path mine = dir.resolve("mine");
        Path other = dir.resolve("other");
        Files.writeString(mine, "abc");
        Files.writeString(other, "other");
        FsResponse answer = closeDuringMetadataCall(mine, other, FsOp.FStat::new);
        // Before the fix: the stat of "other" (5 bytes), which took the closed handle's descriptor number.
        assertTrue(answer.ok(), answer.toString());
        assertEquals(3, ((FsResponseData.Stat) answer.data()).info().size(), answer.toString());
    }

    /**
     * Opens {@code mine} (id 1) and sends the operation {@code call} makes (id 2); while it holds the
     * path it acts on, a CloseHandle (id 3) is answered and the test opens {@code other} until it
     * has the handle's descriptor number (open(2) takes the lowest free one; it never comes while
     * the number stays the handle's), as another connection's OpenFile could; then the operation
     * goes on. Its answer.
     */
    private FsResponse closeDuringMetadataCall(Path mine, Path other, java.util.function.LongFunction<FsOp> call)
            throws Exception {
        FsWorkers two = new FsWorkers(2);
        FsService service = serviceOn(two);
        java.util.concurrent.CountDownLatch paused = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch resume = new java.util.concurrent.CountDownLatch(1);
        java.util.List<java.nio.channels.FileChannel> othersOpened = new java.util.ArrayList<>();
        try {
            service.onRequest(1, new FsRequest(new FsOp.OpenFile(mine.toString(),
                    new FsOpenOptions(true, true, false, false, false, false, null)), null, true));
            runLoopUntil(1);
            long handle = ((FsResponseData.Handle) response(1).data()).handle();
            pauseMetadataCallsUntil(service, paused, resume);
            FsHandle.File file = (FsHandle.File) service.handles().get(handle, 1);
            int number = ChannelDescriptor.fd(file.channel);
            assertTrue(number >= 0, "the handle's descriptor number");
            service.onRequest(2, new FsRequest(call.apply(handle), null, true));
            assertTrue(paused.await(10, TimeUnit.SECONDS), "the operation reached its system calls");
            service.onRequest(3, new FsRequest(new FsOp.CloseHandle(handle), null, true));
            runLoopUntil(2);
            assertTrue(response(3).ok(), response(3).toString());
            assertEquals(0, service.openHandles());
            // Lower numbers may be free too: open until one takes the handle's (only if it is free).
            for (int i = 0; i < 256; i++) {
                java.nio.channels.FileChannel opened = java.nio.channels.FileChannel.open(other,
                        java.nio.file.StandardOpenOption.READ);
                othersOpened.add(opened);
                if (ChannelDescriptor.fd(opened) == number) {
                    break;
                }
            }
            resume.countDown();
            runLoopUntil(3);
            assertFalse(file.channel.isOpen(), "closed once the operation let it go");
            return response(2);
        } finally {
            resume.countDown();
            for (java.nio.channels.FileChannel opened : othersOpened) {
                opened.close();
            }
            two.shutdown();
        }
    }

    /** {@code service}'s metadata calls count {@code paused} down, then wait for {@code resume} (10 s at most). */
    private static void pauseMetadataCallsUntil(FsService service, java.util.concurrent.CountDownLatch paused,
            java.util.concurrent.CountDownLatch resume) {
        service.pauseMetadataCalls(() -> {
            paused.countDown();
            try {
                resume.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** OpenFile {write, create} on {@code id}, atomic or in place (no truncate): its handle. */
    private long openForWrite(long id, Path file, boolean atomic) throws Exception {
        fs.onRequest(id, new FsRequest(new FsOp.OpenFile(file.toString(),
                new FsOpenOptions(false, true, false, true, false, false, null, atomic)), null, true));
        runLoopUntil(host.frames.size() + 1);
        assertTrue(response(id).ok(), response(id).toString());
        return ((FsResponseData.Handle) response(id).data()).handle();
    }

    /** The atomic upload's temporary file beside {@code file}. */
    private Path tempOf(Path file) throws Exception {
        return listDir().stream().filter(p -> p.getFileName().toString().startsWith("." + file.getFileName() + ".agentd-"))
                .findFirst().orElseThrow();
    }

    private java.util.List<Path> listDir() throws Exception {
        try (var entries = Files.list(dir)) {
            return entries.sorted().toList();
        }
    }

    /** Runs the loop until {@code file} holds {@code bytes} bytes (the worker wrote them). */
    private void awaitBytesIn(Path file, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Files.size(file) < bytes) {
            assertTrue(System.nanoTime() < deadline, file + " holds " + Files.size(file) + " bytes, not " + bytes);
            Runnable task = loop.poll(10, TimeUnit.MILLISECONDS);
            if (task != null) {
                task.run();
            }
        }
        for (Runnable task; (task = loop.poll()) != null; ) {
            task.run(); // the turn's outcome: the Write now waits for the host
        }
    }

    /** OpenFile atomic on {@code id}, CloseHandle on {@code id + 1}: the (empty) upload replaces {@code file}. */
    private void uploadAtomically(long id, Path file, Long mode) throws Exception {
        fs.onRequest(id, new FsRequest(new FsOp.OpenFile(file.toString(),
                new FsOpenOptions(false, true, false, true, true, false, mode, true)), null, true));
        runLoopUntil(host.frames.size() + 1);
        assertTrue(response(id).ok(), response(id).toString());
        long handle = ((FsResponseData.Handle) response(id).data()).handle();
        fs.onRequest(id + 1, new FsRequest(new FsOp.CloseHandle(handle), null, true));
        runLoopUntil(host.frames.size() + 1);
        assertTrue(response(id + 1).ok(), response(id + 1).toString());
        assertEquals(0, Files.size(file), "replaced");
    }
    /** The answer to {@code op} on {@code id}, on this test's connection. */
    private FsResponse call(long id, FsOp op) throws InterruptedException {
        fs.onRequest(id, new FsRequest(op, null, true));
        runLoopUntil(() -> answered(host, id), host.types()::toString);
        return responseOn(host, id);
    }

    /**
     * Behind a relay whose notices named its clients' ranges, a handle answers only its own
     * client's requests (PROTOCOL.md: handles belong to the relay client that opened them): another
     * client's FStat or CloseHandle of it is "bad handle", as a number never opened is; and each
     * client has its own 1,024. Before, any client could use (or close) any other's handles, and
     * one client's 1,024 left the others none.
     */
    @Test
    void behindARelayAHandleIsItsClientsAloneAndEachClientHasItsOwn1024() throws Exception {
        fs.onIdRangeNamed(1, 5000);
        fs.onIdRangeNamed(5000, 10000);
        Path file = Files.writeString(dir.resolve("shared"), "x");
        long mine = ((FsResponseData.Handle) open(fs, host, 5, file).data()).handle();
        FsResponse theirs = call(5001, new FsOp.FStat(mine));
        assertEquals("EBADF", theirs.errnoName(), theirs.toString());
        assertEquals("EBADF", call(5002, new FsOp.CloseHandle(mine)).errnoName(), "not theirs to close");
        assertTrue(call(6, new FsOp.FStat(mine)).ok(), "its own client's");

        long id = 10;
        for (int n = 1; n < FsHandles.MAX_PER_OWNER; n++) { // the first one is open already
            assertTrue(open(fs, host, id++, file).ok(), "handle " + n);
        }
        FsResponse past = open(fs, host, id, file);
        assertEquals("EMFILE", past.errnoName(), past.toString());
        assertTrue(open(fs, host, 5003, file).ok(), "the other client opens its own");
    }

    /**
     * The ranges a relay named are forgotten with the connection's host: on a port, the next host
     * may be no relay, and its ids may cross a relay client's range boundary.
     */
    @Test
    void theRangesARelayNamedGoWithItsHost() throws Exception {
        fs.onIdRangeNamed(1, 5000);
        fs.onIdRangeNamed(5000, 10000);
        fs.onOwnerGone();
        Path file = Files.writeString(dir.resolve("after"), "x");
        long handle = ((FsResponseData.Handle) open(fs, host, 4999, file).data()).handle();
        assertTrue(call(5000, new FsOp.FStat(handle)).ok(), "one owner again");
    }

    /** Without a relay's notices every id is the connection's: a handle serves any id, as before. */
    @Test
    void withoutARelayAHandleServesEveryIdOfItsConnection() throws Exception {
        Path file = Files.writeString(dir.resolve("direct"), "x");
        long handle = ((FsResponseData.Handle) open(fs, host, 5, file).data()).handle();
        assertTrue(call(40_000_000, new FsOp.FStat(handle)).ok());
        assertTrue(call(3_000_000_000L, new FsOp.CloseHandle(handle)).ok());
    }
    private static final FsOpenOptions CREATE = new FsOpenOptions(false, true, false, true, false, false, null);

    /**
     * OpenFile with create through a link whose target does not exist creates the target, as
     * open(2) with O_CREAT (the reference's Rust create) does: /etc/resolv.conf names a resolver's
     * file that is not there in a VM. Relative targets are the link's directory's; chains are
     * followed. Before, the O_EXCL create met the link, and the open failed ENOENT after five tries.
     */
    @Test
    void openFileCreateThroughADanglingLinkCreatesItsTarget() throws Exception {
        Files.createDirectories(dir.resolve("run"));
        Files.createSymbolicLink(dir.resolve("resolv.conf"), Path.of("run/stub-resolv.conf"));
        assertTrue(call(2, new FsOp.OpenFile(dir.resolve("resolv.conf").toString(), CREATE)).ok());
        assertTrue(Files.isRegularFile(dir.resolve("run/stub-resolv.conf"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.isSymbolicLink(dir.resolve("resolv.conf")), "the link stays");

        Files.createSymbolicLink(dir.resolve("first"), dir.resolve("second"));
        Files.createSymbolicLink(dir.resolve("second"), Path.of("third"));
        assertTrue(call(3, new FsOp.OpenFile(dir.resolve("first").toString(), CREATE)).ok());
        assertTrue(Files.isRegularFile(dir.resolve("third"), java.nio.file.LinkOption.NOFOLLOW_LINKS));

        Files.createSymbolicLink(dir.resolve("nowhere"), Path.of("missing-dir/file"));
        assertEquals("ENOENT", call(4, new FsOp.OpenFile(dir.resolve("nowhere").toString(), CREATE)).errnoName());
        Files.createSymbolicLink(dir.resolve("loop-a"), Path.of("loop-b"));
        Files.createSymbolicLink(dir.resolve("loop-b"), Path.of("loop-a"));
        assertEquals("ELOOP", call(5, new FsOp.OpenFile(dir.resolve("loop-a").toString(), CREATE)).errnoName());
    }

    /**
     * The kernel's rule for links in sticky world-writable directories (fs.protected_symlinks)
     * still holds: root does not follow another user's dangling link in such a directory (/tmp),
     * so a guest user cannot make a root upload create a file where the link points. Needs root.
     */
    @Test
    void aDanglingLinkTheKernelWouldNotFollowIsNotFollowed() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (lchown)");
        Assumptions.assumeTrue("1".equals(Files.readString(Path.of("/proc/sys/fs/protected_symlinks")).trim()),
                "fs.protected_symlinks is 1");
        Path sticky = Files.createDirectory(dir.resolve("tmp"));
        Files.setPosixFilePermissions(sticky, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertEquals(0, io.agentd.agent.sys.Os.libc().fchmodat(io.agentd.agent.sys.LibC.AT_FDCWD,
                io.agentd.agent.sys.Os.cString(sticky.toString()), 01777, 0), "chmod 1777");
        Path link = Files.createSymbolicLink(sticky.resolve("planted"), dir.resolve("victim"));
        Files.getFileAttributeView(link, java.nio.file.attribute.PosixFileAttributeView.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).setOwner(link.getFileSystem()
                .getUserPrincipalLookupService().lookupPrincipalByName("nobody")); // lchown
        FsResponse r = call(2, new FsOp.OpenFile(link.toString(), CREATE));
        assertEquals("EACCES", r.errnoName(), r.toString());
        assertFalse(Files.exists(dir.resolve("victim")), "nothing created where the link points");
    }

    /**
     * A disk error part-way through a buffer, and before the loop has seen it, a chunk that cuts the
     * Write (past its buffer: ENOBUFS): the answer waits for the worker's turn to end and is the disk
     * error, counting the bytes that reached the file. Before, the cut answered at once, ENOBUFS with
     * a count short of what the file held, and the disk error was dropped.
     */
    @Test
    void aDiskErrorRacingACutAnswersWithTheDiskErrorAndTheBytesTheFileGot() throws Exception {
        long buffer = 256 * 1024;
        FsWorkers two = new FsWorkers(2);
        FsService service = new FsService(loop::add, host, held, two, UserDb.system(), FsCredentials.ofAgent(),
                new FsSettings(2, 8, 4096, 64 * 1024, buffer));
        java.util.concurrent.CountDownLatch failed = new java.util.concurrent.CountDownLatch(1);
        Path file = dir.resolve("fills-up");
        Files.createFile(file);
        try {
            long h = injectFifoHandle(service, file, 1, ch -> new FailingAfter(ch, 64 * 1024, failed));
            service.onRequest(3, new FsRequest(new FsOp.Write(h, 0, null), null, true));
            service.onData(3, new byte[128 * 1024]); // to the worker, which writes 64 KiB and fails
            assertTrue(failed.await(10, TimeUnit.SECONDS), "the worker wrote");
            Thread.sleep(200); // its turn's end is posted to the loop, not run
            for (long n = 0; n <= buffer + 2 * 16384; n += 16384) {
                service.onData(3, new byte[16384]); // past the buffer: the Write is cut
            }
            assertTrue(host.frames.stream().noneMatch(f -> f.id() == 3 && f.type() == MessageType.FS_RESPONSE),
                    "answered before the worker's turn was seen: " + response3());
            FsResponse answer = awaitResponse(3);
            assertFalse(answer.ok());
            assertFalse("ENOBUFS".equals(answer.errnoName()), "the disk's error: " + answer);
            assertTrue(answer.error().contains("65536 bytes written"), answer.error());
            assertEquals(64 * 1024, Files.size(file));
        } finally {
            service.onOwnerGone();
            two.shutdown();
        }
    }

    private String response3() {
        return host.frames.stream().filter(f -> f.id() == 3 && f.type() == MessageType.FS_RESPONSE)
                .map(f -> f.payload().toString()).findFirst().orElse("none");
    }

    /** A file that takes {@code limit} bytes, then fails every write as a full disk does. */
    private static final class FailingAfter extends java.nio.channels.FileChannel {
        private final java.nio.channels.FileChannel file;
        private final java.util.concurrent.CountDownLatch failed;
        private long left;

        FailingAfter(java.nio.channels.FileChannel file, long limit, java.util.concurrent.CountDownLatch failed) {
            this.file = file;
            this.left = limit;
            this.failed = failed;
        }

        @Override
        public int write(java.nio.ByteBuffer src, long position) throws java.io.IOException {
            if (left == 0) {
                failed.countDown();
                throw new java.io.IOException("No space left on device");
            }
            java.nio.ByteBuffer part = src.duplicate();
            part.limit(part.position() + (int) Math.min(left, part.remaining()));
            int n = file.write(part, position);
            src.position(src.position() + n);
            left -= n;
            return n;
        }

        @Override
        public int write(java.nio.ByteBuffer src) throws java.io.IOException {
            return write(src, file.position());
        }

        @Override
        public int read(java.nio.ByteBuffer dst) throws java.io.IOException {
            return file.read(dst);
        }

        @Override
        public long read(java.nio.ByteBuffer[] dsts, int offset, int length) throws java.io.IOException {
            return file.read(dsts, offset, length);
        }

        @Override
        public long write(java.nio.ByteBuffer[] srcs, int offset, int length) throws java.io.IOException {
            throw new java.io.IOException("not used");
        }

        @Override
        public long position() throws java.io.IOException {
            return file.position();
        }

        @Override
        public java.nio.channels.FileChannel position(long newPosition) throws java.io.IOException {
            file.position(newPosition);
            return this;
        }

        @Override
        public long size() throws java.io.IOException {
            return file.size();
        }

        @Override
        public java.nio.channels.FileChannel truncate(long size) throws java.io.IOException {
            file.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws java.io.IOException {
            file.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, java.nio.channels.WritableByteChannel target)
                throws java.io.IOException {
            return file.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(java.nio.channels.ReadableByteChannel src, long position, long count)
                throws java.io.IOException {
            return file.transferFrom(src, position, count);
        }

        @Override
        public int read(java.nio.ByteBuffer dst, long position) throws java.io.IOException {
            return file.read(dst, position);
        }

        @Override
        public java.nio.MappedByteBuffer map(MapMode mode, long position, long size) throws java.io.IOException {
            return file.map(mode, position, size);
        }

        @Override
        public java.nio.channels.FileLock lock(long position, long size, boolean shared) throws java.io.IOException {
            return file.lock(position, size, shared);
        }

        @Override
        public java.nio.channels.FileLock tryLock(long position, long size, boolean shared) throws java.io.IOException {
            return file.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws java.io.IOException {
            file.close();
        }
    }
}
