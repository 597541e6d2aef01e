package io.agentd.bench;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.FsRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * fs transfers: {@link BenchConfig#throughputBytes()} (1 GiB in the full run) uploaded with a
 * flow-controlled Write and downloaded with a Read through the agent's unix socket, each beside the
 * same bytes through a plain pipe into (and out of) {@code cat} on the same disk. While they run:
 * the agent's RSS (sampled every 50 ms, against its RSS when idle) and ping round trips (p99, against
 * idle pings in the same run). The transfers ask for {@code extended}, as {@code agentctl cp} does,
 * so the agent hashes every byte and the figure includes its SHA-256 (issue 16: "sha256 equal"); the
 * agent's sha256 is checked against the bench's own of the bytes, and the bench also compares the
 * bytes itself, the download's as they come, the upload's file after the clock.
 */
final class FsBench {
    private static final int CHUNK = 1024 * 1024;
    private static final int FRAME = 256 * 1024;
    private static final int IDLE_PINGS = 200;

    private FsBench() {}

    static List<Figure> run(BenchConfig cfg, AgentProcess process) throws Exception {
        long bytes = cfg.throughputBytes();
        byte[] block = new byte[CHUNK];
        new Random(42).nextBytes(block);
        Path file = cfg.workDir().resolve("fs-bench.bin");
        Path pipeFile = cfg.workDir().resolve("fs-bench-pipe.bin");
        String sha256 = sha256(block, bytes);
        try (FsWire wire = process.connect(FsWire::connect)) {
            Samples idlePings = new Samples(IDLE_PINGS);
            for (int i = 0; i < IDLE_PINGS; i++) {
                idlePings.add(wire.pingNanos(wire.newId()));
            }
            long idleRss = process.memory().rssBytes();

            double pipeUp = pipeUpload(pipeFile, block, bytes);
            Background during = new Background(process, wire);
            double up = upload(wire, file, block, bytes, sha256);
            double pipeDown = pipeDownload(pipeFile, bytes);
            double down = download(wire, file, block, bytes, sha256);
            during.stop();
            Files.deleteIfExists(file);
            Files.deleteIfExists(pipeFile);

            String size = (bytes >> 20) + " MiB";
            return List.of(
                    Figure.info("fs upload (Write, window), " + size, up, Figure.Unit.BYTES_PER_SECOND, pipeUp,
                            "pipe into cat > file"),
                    Figure.info("fs download (Read), " + size, down, Figure.Unit.BYTES_PER_SECOND, pipeDown,
                            "cat file from a pipe"),
                    Figure.info("fs: agent peak RSS during the transfers", during.peakRss.get(), Figure.Unit.BYTES,
                            idleRss, "idle"),
                    Figure.info("fs: ping p99 during the transfers (" + during.pings.count() + " pings)",
                            during.pings.count() == 0 ? Double.NaN : during.pings.percentile(99), Figure.Unit.NANOS,
                            idlePings.percentile(99), "idle"));
        }
    }

    /** RSS samples and pings while the transfers run. */
    private static final class Background {
        final AtomicLong peakRss = new AtomicLong();
        final Samples pings = new Samples(1000);
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread rss;
        private final Thread pinger;
        private volatile Exception failure;

        Background(AgentProcess process, FsWire wire) {
            rss = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        peakRss.accumulateAndGet(process.memory().rssBytes(), Math::max);
                        Thread.sleep(50);
                    } catch (Exception e) {
                        failure = e;
                        return;
                    }
                }
            }, "fs-bench-rss");
            pinger = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        long rtt = wire.pingNanos(wire.newId());
                        synchronized (pings) {
                            pings.add(rtt);
                        }
                        Thread.sleep(10);
                    } catch (Exception e) {
                        failure = e;
                        return;
                    }
                }
            }, "fs-bench-pinger");
            rss.start();
            pinger.start();
        }

        void stop() throws Exception {
            stop.set(true);
            rss.join();
            pinger.join();
            if (failure != null) {
                throw failure;
            }
        }
    }

    private static double upload(FsWire wire, Path file, byte[] block, long bytes, String sha256) throws Exception {
        long handle = handle(wire.call(wire.newId(), new FsOp.OpenFile(file.toString(), FsOpenOptions.replacing(0644L))));
        long id = wire.newId();
        long t0 = System.nanoTime();
        wire.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(new FsOp.Write(handle, 0, bytes, true), null, true)));
        for (long sent = 0; sent < bytes; ) {
            int n = (int) Math.min(block.length, bytes - sent);
            for (int off = 0; off < n; off += FRAME) {
                wire.sendWithinCredit(id, block, off, Math.min(FRAME, n - off));
            }
            sent += n;
        }
        wire.send(new Frame(id, MessageType.FS_DATA, ExecData.EOF));
        FsResponse done = (FsResponse) wire.expect(id, MessageType.FS_RESPONSE).payload();
        long elapsed = System.nanoTime() - t0;
        check(done, "upload");
        checkSha256(done, sha256, "upload");
        check(wire.call(wire.newId(), new FsOp.CloseHandle(handle)), "close");
        // Checked after the clock stopped: the file holds the bytes sent.
        long at = 0;
        try (FileChannel written = FileChannel.open(file)) {
            ByteBuffer buf = ByteBuffer.allocate(CHUNK);
            while (written.read(buf.clear()) > 0) {
                buf.flip();
                if (!matches(block, at, buf.array(), 0, buf.limit())) {
                    throw new IOException("upload: the file differs from the bytes sent within " + at + ".." + (at + buf.limit()));
                }
                at += buf.limit();
            }
        }
        if (at != bytes) {
            throw new IOException("upload: the file holds " + at + " of " + bytes + " bytes");
        }
        return bytes * 1e9 / elapsed;
    }

    private static double download(FsWire wire, Path file, byte[] block, long bytes, String sha256) throws Exception {
        long handle = handle(wire.call(wire.newId(), new FsOp.OpenFile(file.toString(), FsOpenOptions.reading())));
        AtomicLong received = new AtomicLong();
        AtomicBoolean differs = new AtomicBoolean();
        long id = wire.newId();
        wire.onData(id, data -> { // a vectorised compare: it keeps up with the agent, a hash would not
            if (!matches(block, received.get(), data, 0, data.length)) {
                differs.set(true);
            }
            received.addAndGet(data.length);
        });
        long t0 = System.nanoTime();
        send(wire, id, new FsOp.Read(handle, 0, null));
        FsResponse done = (FsResponse) wire.expect(id, MessageType.FS_RESPONSE).payload();
        long elapsed = System.nanoTime() - t0;
        check(done, "download");
        checkSha256(done, sha256, "download");
        if (received.get() != bytes || differs.get()) {
            throw new IOException("download: " + received.get() + " of " + bytes + " bytes"
                    + (differs.get() ? ", not the bytes uploaded" : ""));
        }
        check(wire.call(wire.newId(), new FsOp.CloseHandle(handle)), "close");
        return bytes * 1e9 / elapsed;
    }

    /** A request with {@code extended}: the agent's sha256 of the bytes comes with the response. */
    private static void send(FsWire wire, long id, FsOp op) throws IOException {
        wire.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(op, null, true)));
    }

    /** The SHA-256 of the bench's bytes ({@code block} repeated to {@code bytes}), before any clock. */
    private static String sha256(byte[] block, long bytes) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        for (long at = 0; at < bytes; at += block.length) {
            digest.update(block, 0, (int) Math.min(block.length, bytes - at));
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void checkSha256(FsResponse r, String expected, String what) throws IOException {
        if (!expected.equalsIgnoreCase(String.valueOf(r.sha256()))) {
            throw new IOException(what + ": the agent's sha256 is " + r.sha256() + ", the bytes' " + expected);
        }
    }

    /** Whether {@code data[off, off+len)} equals the bench's bytes (block repeated) from {@code at}. */
    private static boolean matches(byte[] block, long at, byte[] data, int off, int len) {
        while (len > 0) {
            int from = (int) (at % block.length);
            int n = Math.min(len, block.length - from);
            if (!Arrays.equals(block, from, from + n, data, off, off + n)) {
                return false;
            }
            at += n;
            off += n;
            len -= n;
        }
        return true;
    }

    private static double pipeUpload(Path file, byte[] block, long bytes) throws Exception {
        long t0 = System.nanoTime();
        Process cat = new ProcessBuilder("sh", "-c", "exec cat > \"$0\"", file.toString()).start();
        try (OutputStream in = cat.getOutputStream()) {
            for (long sent = 0; sent < bytes; sent += block.length) {
                in.write(block, 0, (int) Math.min(block.length, bytes - sent));
            }
        }
        if (!cat.waitFor(AgentLink.WAIT.toSeconds(), TimeUnit.SECONDS) || cat.exitValue() != 0 || Files.size(file) != bytes) {
            throw new IOException("pipe upload: cat wrote " + Files.size(file) + " of " + bytes + " bytes");
        }
        return bytes * 1e9 / (System.nanoTime() - t0);
    }

    private static double pipeDownload(Path file, long bytes) throws Exception {
        byte[] buffer = new byte[FRAME];
        long t0 = System.nanoTime();
        Process cat = new ProcessBuilder("cat", file.toString()).start();
        long count = 0;
        try (InputStream out = cat.getInputStream()) {
            for (int n; (n = out.read(buffer)) > 0; ) {
                count += n;
            }
        }
        if (!cat.waitFor(AgentLink.WAIT.toSeconds(), TimeUnit.SECONDS) || count != bytes) {
            throw new IOException("pipe download: " + count + " of " + bytes + " bytes");
        }
        return bytes * 1e9 / (System.nanoTime() - t0);
    }

    private static long handle(FsResponse r) throws IOException {
        check(r, "open");
        return ((FsResponseData.Handle) r.data()).handle();
    }

    private static void check(FsResponse r, String what) throws IOException {
        if (!r.ok()) {
            throw new IOException(what + " failed: " + r.error());
        }
    }
}
