package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import io.agentd.protocol.payload.Ready;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Every FsOp and the fs extensions against a running agent on a unix socket (real files, real fds). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FsE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("fs");

    private Path dir;

    @BeforeEach
    void tempDir() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/e2e").toAbsolutePath()), "fs-files-");
    }

    private String p(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void readyAdvertisesFsExt() throws Exception {
        try (HostConnection fresh = agent.process().connect()) {
            assertTrue(((Ready) fresh.expect(0, MessageType.CORE_READY).payload()).supports(Ready.FEATURE_FS_EXT));
        }
    }

    @Test
    void pathOperations(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        fs.ok(new FsOp.Mkdir(p("a/b/c"), 0750L));
        assertTrue(Files.isDirectory(dir.resolve("a/b/c")));
        FsEntryInfo c = ((FsResponseData.Stat) fs.ok(new FsOp.Stat(p("a/b/c"), true))).info();
        assertEquals(FsEntryInfo.DIR, c.kind());
        assertEquals(040750, c.mode() & 0177777 & ~0022, "full st_mode, 0750 under the umask");

        Files.writeString(dir.resolve("f"), "hello");
        FsEntryInfo f = ((FsResponseData.Stat) fs.ok(new FsOp.Stat(p("f"), false))).info();
        assertEquals(FsEntryInfo.FILE, f.kind());
        assertEquals(5, f.size());
        assertEquals(f.mtime(), f.modified());
        assertEquals(0100000, f.mode() & 0170000);

        fs.ok(new FsOp.SetStat(p("f"), true, new FsSetAttrs(0600L, null, null, null, 1700000000L, 1795000000L)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("f"))));
        assertEquals(1795000000L, Files.getLastModifiedTime(dir.resolve("f")).toInstant().getEpochSecond());
        fs.ok(new FsOp.SetStat(p("f"), true, new FsSetAttrs(null, null, null, 2L, null, null)));
        assertEquals("he", Files.readString(dir.resolve("f")));

        fs.ok(new FsOp.Symlink(p("f"), p("l")));
        assertEquals(p("f"), ((FsResponseData.Path) fs.ok(new FsOp.ReadLink(p("l")))).path());
        assertEquals(FsEntryInfo.SYMLINK, ((FsResponseData.Stat) fs.ok(new FsOp.Stat(p("l"), false))).info().kind());
        assertEquals(FsEntryInfo.FILE, ((FsResponseData.Stat) fs.ok(new FsOp.Stat(p("l"), true))).info().kind());
        assertEquals(dir.toRealPath().resolve("f").toString(),
                ((FsResponseData.Path) fs.ok(new FsOp.RealPath(p("a/../l")))).path());

        List<FsEntryInfo> listed = ((FsResponseData.Entries) fs.ok(new FsOp.ListDir(dir.toString()))).entries();
        assertEquals(Set.of(p("a"), p("f"), p("l")), listed.stream().map(FsEntryInfo::path).collect(Collectors.toSet()));

        fs.ok(new FsOp.Copy(p("f"), p("g")));
        assertEquals("he", Files.readString(dir.resolve("g")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("g"))),
                "the copy keeps the mode");
        Files.writeString(dir.resolve("a/b/c/deep"), "x");
        fs.ok(new FsOp.Copy(p("a"), p("a2")));
        assertEquals("x", Files.readString(dir.resolve("a2/b/c/deep")));
        fs.ok(new FsOp.Rename(p("g"), p("h")));
        assertFalse(Files.exists(dir.resolve("g")));
        assertEquals("he", Files.readString(dir.resolve("h")));

        fs.fails(new FsOp.Remove(p("a")), "EISDIR");
        fs.ok(new FsOp.Remove(p("h")));
        fs.ok(new FsOp.Remove(p("l")));
        assertTrue(Files.exists(dir.resolve("f")), "removing the link leaves its target");
        fs.fails(new FsOp.RemoveDir(p("a"), false), "ENOTEMPTY");
        fs.ok(new FsOp.RemoveDir(p("a"), true));
        assertFalse(Files.exists(dir.resolve("a")));
        fs.fails(new FsOp.Stat(p("a"), true), "ENOENT");
    }

    @Test
    void anIdInUseByOneRequestFamilyIsRefusedToTheOther(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        long h = fs.open(p("shared-id.bin"), new FsOpenOptions(true, true, false, true, true, false, 0640L));
        byte[] data = "0123456789".getBytes(StandardCharsets.UTF_8);
        long id = FsHost.newId();
        // A Write waiting for its data: the id is the fs family's until its response.
        host.send(new Frame(id, MessageType.FS_REQUEST,
                new FsRequest(new FsOp.Write(h, 0, (long) data.length, false), null, true)));
        host.exec(id, ExecRequest.of("echo", "on the same id"));
        ErrorPayload e = host.expectError(id, "invalid_session");
        assertEquals("id " + id + " is in use by an fs request in progress", e.message());
        assertEquals(MessageType.EXEC_REQUEST.wire(), e.offendingType());
        // One past the request limits as well: a core.error, not the exec.failed that would end the id.
        String[] tooMany = new String[32769];
        java.util.Arrays.fill(tooMany, "x");
        host.exec(id, ExecRequest.of("echo", tooMany));
        ErrorPayload over = host.expectError(id, "invalid_payload");
        assertTrue(over.message().contains("more than the limit of 32768"), over.message());
        // A session list too: its answer would end the id for the host.
        host.send(new Frame(id, MessageType.SESSION_LIST, Empty.INSTANCE));
        ErrorPayload listed = host.expectError(id, "invalid_session");
        assertEquals("id " + id + " is in use by an fs request in progress", listed.message());
        host.send(new Frame(id, MessageType.FS_DATA, new ExecData(data)));
        host.send(new Frame(id, MessageType.FS_DATA, ExecData.EOF));
        assertTrue(((FsResponse) host.expect(id, MessageType.FS_RESPONSE).payload()).ok());
        assertTrue(host.nothingMore(id, java.time.Duration.ofMillis(200)), "nothing else on the id");
        assertEquals("0123456789", Files.readString(dir.resolve("shared-id.bin")));

        // And the other way round: a running session's id is not an fs request's.
        long sid = FsHost.newId();
        host.exec(sid, ExecRequest.of("cat"));
        host.expect(sid, MessageType.EXEC_STARTED);
        host.send(new Frame(sid, MessageType.FS_REQUEST, new FsRequest(new FsOp.Stat(p("shared-id.bin"), true), null,
                true)));
        ErrorPayload e2 = host.expectError(sid, "invalid_session");
        assertEquals("id " + sid + " is in use by a running session", e2.message());
        host.stdin(sid, "still mine".getBytes(StandardCharsets.UTF_8));
        host.stdin(sid, new byte[0]);
        SessionResult r = host.collect(sid, java.time.Duration.ofSeconds(30));
        assertEquals("still mine", r.out());
        assertEquals(0, r.code());
    }

    @Test
    void handlesWriteReadStatAndDirectories(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        long h = fs.open(p("up.bin"), new FsOpenOptions(true, true, false, true, true, false, 0640L));
        byte[] hello = "hello world".getBytes(StandardCharsets.UTF_8);
        FsResponse written = fs.write(h, 0, hello, false, 4);
        assertTrue(written.ok(), written.toString());
        assertEquals("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9", written.sha256());
        FsHost.Download all = fs.read(h, 0, null, true);
        assertTrue(all.response().ok());
        assertArrayEquals(hello, all.data());
        assertEquals(written.sha256(), all.response().sha256());
        assertArrayEquals("world".getBytes(StandardCharsets.UTF_8), fs.read(h, 6, 100L, true).data());
        assertArrayEquals("lo".getBytes(StandardCharsets.UTF_8), fs.read(h, 3, 2L, true).data());
        assertEquals(0, fs.read(h, 100, null, true).bytes(), "past the end: no data, ok");

        FsEntryInfo st = ((FsResponseData.Stat) fs.ok(new FsOp.FStat(h))).info();
        assertEquals(11, st.size());
        fs.ok(new FsOp.FSetStat(h, new FsSetAttrs(null, null, null, 5L, null, null)));
        assertEquals("hello", Files.readString(dir.resolve("up.bin")));
        fs.ok(new FsOp.CloseHandle(h));
        fs.fails(new FsOp.FStat(h), "EBADF");
        FsResponse closedRead = fs.read(h, 0, null, true).response();
        assertFalse(closedRead.ok());
        assertTrue(closedRead.error().contains("bad handle"), closedRead.error());
        assertFalse(fs.write(h, 0, hello, false, 100).ok(), "write on a closed handle");

        Files.createDirectory(dir.resolve("d"));
        for (int i = 0; i < 5; i++) {
            Files.writeString(dir.resolve("d/e" + i), "");
        }
        long d = ((FsResponseData.Handle) fs.ok(new FsOp.OpenDir(p("d")))).handle();
        List<FsEntryInfo> first = ((FsResponseData.Entries) fs.ok(new FsOp.ReadDir(d, 3L))).entries();
        List<FsEntryInfo> rest = ((FsResponseData.Entries) fs.ok(new FsOp.ReadDir(d, null))).entries();
        List<FsEntryInfo> end = ((FsResponseData.Entries) fs.ok(new FsOp.ReadDir(d, null))).entries();
        assertEquals(3, first.size());
        assertEquals(2, rest.size());
        assertTrue(end.isEmpty(), "an empty list at the end");
        FsHost.Download onDir = fs.read(d, 0, null, false);
        assertEquals("EISDIR", onDir.response().errnoName(), onDir.response().toString());
        FsResponse writeOnDir = fs.write(d, 0, hello, false, 100);
        assertEquals("EISDIR", writeOnDir.errnoName(), writeOnDir.toString());
        fs.ok(new FsOp.CloseHandle(d));
    }

    @Test
    void badInputsGetTypedAnswers(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        FsResponse relative = fs.fails(new FsOp.Stat("etc/hostname", true), "EINVAL");
        assertTrue(relative.error().contains("not absolute"), relative.error());
        fs.fails(new FsOp.OpenFile(dir.toString(), FsOpenOptions.replacing(null)), "EISDIR");
        fs.fails(new FsOp.ReadLink(dir.toString()), "EINVAL");

        // An unknown variant: core.error invalid_payload on the request's id, naming it.
        long id = FsHost.newId();
        host.sendRaw(fsRequestWithVariant(id, "Chmod"));
        assertTrue(host.expectError(id, "invalid_payload").message().contains("Chmod"));

        // Data with no write in progress.
        long stray = FsHost.newId();
        host.send(new Frame(stray, MessageType.FS_DATA, new ExecData(new byte[] {1})));
        host.expectError(stray, "invalid_session");

        // A write longer than its len fails, and nothing after the len is written.
        long h = fs.open(p("long"), FsOpenOptions.replacing(null));
        long w = FsHost.newId();
        host.send(new Frame(w, MessageType.FS_REQUEST, new FsRequest(new FsOp.Write(h, 0, 4L), null, true)));
        host.send(new Frame(w, MessageType.FS_DATA, new ExecData("abc".getBytes(StandardCharsets.UTF_8))));
        host.send(new Frame(w, MessageType.FS_DATA, new ExecData("def".getBytes(StandardCharsets.UTF_8))));
        host.send(new Frame(w, MessageType.FS_DATA, ExecData.EOF));
        FsResponse tooLong = (FsResponse) host.expect(w, MessageType.FS_RESPONSE).payload();
        assertFalse(tooLong.ok());
        assertTrue(tooLong.error().contains("more data than the len"), tooLong.error());
        assertTrue(host.nothingMore(w, java.time.Duration.ofMillis(300)), "the rest of its data is dropped quietly");
        // A write shorter than its len fails too.
        long s = FsHost.newId();
        host.send(new Frame(s, MessageType.FS_REQUEST, new FsRequest(new FsOp.Write(h, 0, 10L), null, true)));
        host.send(new Frame(s, MessageType.FS_DATA, new ExecData("abc".getBytes(StandardCharsets.UTF_8))));
        host.send(new Frame(s, MessageType.FS_DATA, ExecData.EOF));
        FsResponse tooShort = (FsResponse) host.expect(s, MessageType.FS_RESPONSE).payload();
        assertFalse(tooShort.ok());
        assertTrue(tooShort.error().contains("3 bytes came, the len was 10"), tooShort.error());
        fs.ok(new FsOp.CloseHandle(h));

        // Read on a write-only handle.
        long wo = fs.open(p("wo"), FsOpenOptions.replacing(null));
        assertEquals("EBADF", fs.read(wo, 0, null, false).response().errnoName());
        fs.ok(new FsOp.CloseHandle(wo));
    }

    @Test
    void handlesCloseWithTheirConnection() throws Exception {
        long h;
        try (HostConnection first = agent.connectReady()) {
            h = new FsHost(first).open(p("owned"), FsOpenOptions.replacing(null));
        }
        try (HostConnection second = agent.connectReady()) {
            FsResponse r = new FsHost(second).call(new FsOp.FStat(h));
            assertFalse(r.ok());
            assertTrue(r.error().contains("bad handle"), r.error());
        }
    }

    @Test
    void aHandleOfAnotherLiveConnectionIsABadHandleThereAndStillGoodForItsOwner() throws Exception {
        try (HostConnection owner = agent.connectReady(); HostConnection other = agent.connectReady()) {
            FsHost mine = new FsHost(owner);
            long h = mine.open(p("theirs"), FsOpenOptions.replacing(null));
            FsResponse r = new FsHost(other).call(new FsOp.FStat(h));
            assertFalse(r.ok());
            assertTrue(r.error().contains("bad handle"), r.error());
            mine.ok(new FsOp.FStat(h));
            mine.ok(new FsOp.CloseHandle(h));
        }
    }

    @Test
    void relayNoticeClosesTheHandlesOpenedInItsIdRange(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        long before = FsHost.newId();
        long gone = fs.open(p("gone"), FsOpenOptions.replacing(null));
        long after = FsHost.newId();
        long kept = fs.open(p("kept"), FsOpenOptions.replacing(null));
        // The ids that opened "gone" lie strictly between before and after; "kept" was opened later.
        host.send(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                new io.agentd.protocol.payload.RelayClientRange(before, after)));
        FsResponse r = fs.call(new FsOp.FStat(gone));
        assertFalse(r.ok());
        assertTrue(r.error().contains("bad handle"), r.error());
        fs.ok(new FsOp.FStat(kept));
        fs.ok(new FsOp.CloseHandle(kept));
    }

    @Test
    void oldHostFramesCarryNoExtensionFields(HostConnection host) throws Exception {
        long id = FsHost.newId();
        host.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(new FsOp.Stat(p("missing"), true))));
        FsResponse r = (FsResponse) host.expect(id, MessageType.FS_RESPONSE).payload();
        assertFalse(r.ok());
        assertNull(r.errno());
        assertNull(r.errnoName());
        assertTrue(r.error().contains("No such file or directory (os error 2)"), r.error());
    }

    @Test
    void atomicUploadReplacesOnlyWhenComplete(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        Path dest = dir.resolve("app.bin");
        Files.writeString(dest, "old");
        FsOpenOptions atomic = new FsOpenOptions(false, true, false, true, true, false, 0644L, true);
        long h = fs.open(dest.toString(), atomic);
        assertTrue(fs.write(h, 0, "new contents".getBytes(StandardCharsets.UTF_8), true, 5).ok());
        assertEquals("old", Files.readString(dest), "unchanged until the close");
        fs.ok(new FsOp.CloseHandle(h));
        assertEquals("new contents", Files.readString(dest));
        assertEquals(List.of("app.bin"), names(dir));

        // A failed write spoils it: the close says so and the destination stays.
        long spoiled = fs.open(dest.toString(), atomic);
        long w = FsHost.newId();
        host.send(new Frame(w, MessageType.FS_REQUEST, new FsRequest(new FsOp.Write(spoiled, 0, 2L), null, true)));
        host.send(new Frame(w, MessageType.FS_DATA, new ExecData("xyz".getBytes(StandardCharsets.UTF_8))));
        assertFalse(((FsResponse) host.expect(w, MessageType.FS_RESPONSE).payload()).ok());
        FsResponse close = fs.call(new FsOp.CloseHandle(spoiled));
        assertFalse(close.ok(), close.toString());
        assertEquals("new contents", Files.readString(dest));
        assertEquals(List.of("app.bin"), names(dir));
    }

    /**
     * An agent stopped (SIGTERM) while an atomic upload is open removes its temporary file on the
     * way out: its handle's close does, queued on the closing thread, which the exit waits for
     * (up to 2 s). Without that wait the exit could drop a close still queued; here the close
     * usually ran first anyway, so this test shows the outcome, not that race.
     */
    @Test
    void atomicUploadCutByTheAgentsStopLeavesNoTrace() throws Exception {
        Path dest = dir.resolve("stopped.bin");
        Files.writeString(dest, "old");
        try (AgentProcess own = AgentProcess.start("fs-stop");
                HostConnection host = own.connectReady()) {
            beginAtomicUploadCutShort(host, dest);
            assertEquals(2, names(dir).size(), "the temporary file is there: " + names(dir));
            own.signal(15);
            assertEquals(143, own.awaitExit(java.time.Duration.ofSeconds(30)), own.logText()); // its stop, begun by a signal
        }
        assertEquals(List.of("stopped.bin"), names(dir), "the temporary file is removed");
        assertEquals("old", Files.readString(dest));
    }

    /** An atomic upload of 1000 bytes onto {@code dest} with 500 of them sent, and taken by the agent. */
    private static void beginAtomicUploadCutShort(HostConnection host, Path dest) throws Exception {
        FsHost fs = new FsHost(host);
        long h = fs.open(dest.toString(), new FsOpenOptions(false, true, false, true, true, false, null, true));
        long w = FsHost.newId();
        host.send(new Frame(w, MessageType.FS_REQUEST, new FsRequest(new FsOp.Write(h, 0, 1000L), null, true)));
        host.send(new Frame(w, MessageType.FS_DATA, new ExecData(new byte[500])));
        fs.ok(new FsOp.Stat(dest.toString(), true)); // the 500 bytes were taken
    }

    @Test
    void atomicUploadCutByTheConnectionLeavesNoTrace() throws Exception {
        Path dest = dir.resolve("cut.bin");
        Files.writeString(dest, "old");
        try (HostConnection host = agent.connectReady()) {
            beginAtomicUploadCutShort(host, dest);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (names(dir).size() > 1 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(List.of("cut.bin"), names(dir), "the temporary file is removed");
        assertEquals("old", Files.readString(dest));
    }

    /** A core.fs.request whose op is {@code {variant: {"path": "/a"}}}, written by Jackson's CBOR mapper. */
    private static byte[] fsRequestWithVariant(long id, String variant) throws Exception {
        var cbor = new com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper();
        byte[] p = cbor.writeValueAsBytes(java.util.Map.of("op", java.util.Map.of(variant, java.util.Map.of("path", "/a"))));
        var envelope = new java.util.LinkedHashMap<String, Object>();
        envelope.put("v", 7);
        envelope.put("t", MessageType.FS_REQUEST.wire());
        envelope.put("p", p);
        byte[] body = cbor.writeValueAsBytes(envelope);
        return java.nio.ByteBuffer.allocate(9 + body.length).putInt(5 + body.length).putInt((int) id)
                .put((byte) MessageType.FS_REQUEST.flags()).put(body).array();
    }

    private static List<String> names(Path d) throws Exception {
        try (var s = Files.list(d)) {
            return s.map(x -> x.getFileName().toString()).sorted().toList();
        }
    }
}
