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
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * fs transfers: {@link BenchConfig#throughputBytes()} (1 GiB in the full run) uploaded with a
 * flow-controlled Write and downloaded with a Read through the agent's unix socket, each beside the
 * same bytes through a plain pipe into (and out of) {@code cat} on the same disk, {@value #ROUNDS}
 * rounds alternating pipe and agent, medians compared. Each round transfers twice through the
 * agent: as the reference's hosts ask (the target's figure), and with {@code extended}, as
 * {@code agentctl cp} asks, so the agent hashes every byte and its sha256 comes in the response (an
 * extension whose price is its own figure). The bench compares every byte itself, the download's as
 * they come, the upload's file after the clock, and checks the agent's sha256 against its own of
 * the bytes. While the agent transfers: its RSS (sampled every 50 ms, against its RSS when idle) and
 * ping round trips (p99, against idle pings in the same run), on the transfer's connection and on
 * another one.
 */
final class FsBench {
    private static final int CHUNK = 1024 * 1024;
    private static final int FRAME = 256 * 1024;
    private static final int IDLE_PINGS = 200;
    private static final int ROUNDS = 5;

    private FsBench() {}

    static List<Figure> run(BenchConfig cfg, AgentProcess process) throws Exception {
        long bytes = cfg.throughputBytes();
        byte[] block = new byte[CHUNK];
        new Random(42).nextBytes(block);
        Path file = cfg.workDir().resolve("fs-bench.bin");
        Path pipeFile = cfg.workDir().resolve("fs-bench-pipe.bin");
        String sha256 = sha256(block, bytes);
        try (FsWire wire = process.connect(FsWire::connect); FsWire other = process.connect(FsWire::connect)) {
            Samples idlePings = new Samples(IDLE_PINGS);
            for (int i = 0; i < IDLE_PINGS; i++) {
                idlePings.add(wire.pingNanos(wire.newId()));
            }
            long idleRss = process.memory().rssBytes();

            Rates pipe = new Rates();
            Rates plain = new Rates();
            Rates hashed = new Rates();
            AtomicLong peakRss = new AtomicLong();
            Samples pings = new Samples(1000);
            Samples otherPings = new Samples(1000);
            // Every file written below goes into page-cache pages a file deleted just before gave
            // back, never into memory the machine has not touched yet: see recyclePages.
            recyclePages(file, block, bytes);
            // The first transfers after the agent started are a figure of their own, not a round: the
            // agent's transfer path is compiled and its buffers are made (memory touched for the first
            // time, slow on these VMs) during them, and the rounds measure the agent after that, as a
            // host sees it from its second transfer on. A quarter of the bytes hashed warms the digest.
            double firstUp = upload(wire, file, block, bytes, null);
            double firstDown = download(wire, file, block, bytes, null);
            Files.delete(file);
            upload(wire, file, block, bytes / 4, sha256(block, bytes / 4));
            Files.delete(file);
            for (int round = 0; round < ROUNDS; round++) {
                pipe.up.add(pipeUpload(pipeFile, block, bytes));
                pipe.down.add(pipeDownload(pipeFile, bytes));
                Files.delete(pipeFile);
                for (Rates agent : List.of(plain, hashed)) {
                    boolean extended = agent == hashed;
                    Background during = new Background(process, peakRss, Map.of(wire, pings, other, otherPings));
                    agent.up.add(upload(wire, file, block, bytes, extended ? sha256 : null));
                    agent.down.add(download(wire, file, block, bytes, extended ? sha256 : null));
                    during.stop();
                    Files.delete(file);
                    // Each round's rates too: on this shared machine one round can be twice another.
                    System.err.printf(java.util.Locale.ROOT, "[bench] fs round %d, %s: up %.0f, down %.0f MiB/s;"
                                    + " pipe up %.0f, down %.0f MiB/s%n", round + 1, extended ? "hashed" : "plain",
                            agent.up.last() / (1 << 20), agent.down.last() / (1 << 20),
                            pipe.up.last() / (1 << 20), pipe.down.last() / (1 << 20));
                }
            }

            String size = (bytes >> 20) + " MiB, median of " + ROUNDS;
            double pipeUp = pipe.up.median();
            double pipeDown = pipe.down.median();
            return List.of(
                    Figure.checked("fs upload (Write, window), " + size, plain.up.median(), Figure.Unit.BYTES_PER_SECOND,
                            pipeUp, "pipe into cat > file", ">= 0.5x pipe", plain.up.median() >= 0.5 * pipeUp),
                    Figure.checked("fs download (Read), " + size, plain.down.median(), Figure.Unit.BYTES_PER_SECOND,
                            pipeDown, "cat file from a pipe", ">= 0.5x pipe", plain.down.median() >= 0.5 * pipeDown),
                    Figure.info("fs upload, the agent hashing (extended, as agentctl cp asks), " + size,
                            hashed.up.median(), Figure.Unit.BYTES_PER_SECOND, pipeUp, "pipe into cat > file"),
                    Figure.info("fs download, the agent hashing (extended, as agentctl cp asks), " + size,
                            hashed.down.median(), Figure.Unit.BYTES_PER_SECOND, pipeDown, "cat file from a pipe"),
                    Figure.info("fs upload, the agent's first after start (plain), " + (bytes >> 20) + " MiB", firstUp,
                            Figure.Unit.BYTES_PER_SECOND, pipeUp, "pipe into cat > file"),
                    Figure.info("fs download, the agent's first after start (plain), " + (bytes >> 20) + " MiB", firstDown,
                            Figure.Unit.BYTES_PER_SECOND, pipeDown, "cat file from a pipe"),
                    Figure.info("fs: agent peak RSS during the transfers", peakRss.get(), Figure.Unit.BYTES,
                            idleRss, "idle"),
                    Figure.info("fs: ping p99 during the transfers (" + pings.count() + " pings)",
                            pings.count() == 0 ? Double.NaN : pings.percentile(99), Figure.Unit.NANOS,
                            idlePings.percentile(99), "idle"),
                    // The transfer's own pings wait behind its data; another connection's show whether
                    // the loop itself stays responsive (issue 16: "never block the loop").
                    Figure.info("fs: ping p99 on another connection during the transfers (" + otherPings.count()
                                    + " pings)", otherPings.count() == 0 ? Double.NaN : otherPings.percentile(99),
                            Figure.Unit.NANOS, idlePings.percentile(99), "idle"));
        }
    }

    /** Transfer rates of one kind, bytes per second, one per round. */
    private static final class Rates {
        final Rate up = new Rate();
        final Rate down = new Rate();
    }

    private static final class Rate {
        private final List<Double> values = new java.util.ArrayList<>();

        void add(double v) {
            values.add(v);
        }

        double last() {
            return values.get(values.size() - 1);
        }

        double median() {
            List<Double> sorted = values.stream().sorted().toList();
            return sorted.get(sorted.size() / 2);
        }
    }

    /** RSS samples, and pings on each connection given, while the transfers run. */
    private static final class Background {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new java.util.ArrayList<>();
        private volatile Exception failure;

        Background(AgentProcess process, AtomicLong peakRss, Map<FsWire, Samples> pingsByConnection) {
            threads.add(new Thread(() -> {
                while (!stop.get()) {
                    try {
                        peakRss.accumulateAndGet(process.memory().rssBytes(), Math::max);
                        Thread.sleep(50);
                    } catch (Exception e) {
                        failure = e;
                        return;
                    }
                }
            }, "fs-bench-rss"));
            pingsByConnection.forEach((wire, pings) -> threads.add(new Thread(() -> {
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
            }, "fs-bench-pinger")));
            threads.forEach(Thread::start);
        }

        void stop() throws Exception {
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** @param sha256 the bytes' sha256 to ask the agent for (extended) and check, or null for a plain request */
    private static double upload(FsWire wire, Path file, byte[] block, long bytes, String sha256) throws Exception {
        long handle = handle(wire.call(wire.newId(), new FsOp.OpenFile(file.toString(), FsOpenOptions.replacing(0644L))));
        long id = wire.newId();
        long t0 = System.nanoTime();
        wire.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(new FsOp.Write(handle, 0, bytes, true), null, sha256 != null)));
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

    /** @param sha256 as for {@link #upload} */
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
        wire.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(new FsOp.Read(handle, 0, null), null, sha256 != null)));
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

    /** The SHA-256 of the bench's bytes ({@code block} repeated to {@code bytes}), before any clock. */
    private static String sha256(byte[] block, long bytes) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        for (long at = 0; at < bytes; at += block.length) {
            digest.update(block, 0, (int) Math.min(block.length, bytes - at));
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void checkSha256(FsResponse r, String expected, String what) throws IOException {
        if (expected == null) {
            return; // a plain request: the bench's own byte compare is the check
        }
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

    /**
     * Writes {@code bytes} to {@code file} and deletes it, so that the first upload measured gets
     * pages from the page cache's free lists as the second does. On these VMs (memory the host backs
     * on first touch) the first write into never-touched memory ran at ~0.5 GB/s against ~7 GB/s
     * into pages freed before (BENCHMARKS.md, "fs read-ahead"): on a freshly booted machine whichever
     * side wrote second paid for it, and the ratio measured the machine, not the agent.
     */
    private static void recyclePages(Path file, byte[] block, long bytes) throws IOException {
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer src = ByteBuffer.wrap(block);
            for (long at = 0; at < bytes; ) {
                src.clear().limit((int) Math.min(block.length, bytes - at));
                while (src.hasRemaining()) {
                    at += out.write(src, at);
                }
            }
        }
        Files.delete(file);
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
        long t0 = System.nanoTime();
        Process cat = new ProcessBuilder("cat", file.toString()).start();
        AtomicLong count = new AtomicLong();
        int code = BoundedRead.drain(cat, AgentLink.WAIT, FRAME, "pipe download: cat", (b, n) -> count.addAndGet(n));
        if (code != 0 || count.get() != bytes) {
            throw new IOException("pipe download: cat exited " + code + " with " + count.get() + " of " + bytes + " bytes");
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
