package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The agent's SHA-256 from libcrypto against the JDK's, for sizes around SHA-256's 64-byte block,
 * chunk boundaries anywhere, direct and heap buffers at non-zero positions; and the fallback to the
 * JDK when the library is missing or is not libcrypto. Needs libcrypto.so.3 on this machine
 * (Debian's libssl3, which openssl and ca-certificates pull in).
 */
class Sha256SourceTest {
    private static final int MIB = 1 << 20;

    private final Random random = new Random(16);

    @Test
    void libcryptoLoadsHere() {
        assertTrue(Sha256Source.load(Sha256Source.DEFAULT_LIBRARY).isNative(),
                "libcrypto.so.3 should load on the build machine (package libssl3)");
    }

    @Test
    void nativeDigestEqualsTheJdksForEverySizeAndSplit() throws Exception {
        Sha256Source source = Sha256Source.load(Sha256Source.DEFAULT_LIBRARY);
        for (int size : new int[] {0, 1, 55, 56, 63, 64, 65, 127, 128, 4096, MIB + 1}) {
            byte[] data = bytes(size);
            List<Integer> splits = new ArrayList<>(List.of(0, size / 2, size));
            if (size > 1) {
                splits.add(1);
                splits.add(size - 1);
            }
            if (size > 64) {
                splits.add(64);
                splits.add(63);
            }
            for (int split : splits) {
                for (boolean direct : new boolean[] {true, false}) {
                    FsDigest digest = source.newDigest();
                    digest.update(at(data, 0, split, direct));
                    digest.update(at(data, split, size - split, direct));
                    assertEquals(jdk(data), digest.hex(), size + " bytes split at " + split + (direct ? " direct" : " heap"));
                }
            }
        }
    }

    @Test
    void manyUpdatesOfUnevenSizes() throws Exception {
        Sha256Source source = Sha256Source.load(Sha256Source.DEFAULT_LIBRARY);
        byte[] data = bytes(3 * MIB + 17);
        FsDigest digest = source.newDigest();
        int at = 0;
        int updates = 0;
        while (at < data.length) {
            int n = Math.min(data.length - at, random.nextInt(70_000));
            digest.update(at(data, at, n, updates % 3 != 0));
            at += n;
            updates++;
        }
        assertTrue(updates > 50);
        assertEquals(jdk(data), digest.hex());
    }

    @Test
    void anUpdateLeavesTheBuffersPositionWhereItWas() {
        FsDigest digest = Sha256Source.load(Sha256Source.DEFAULT_LIBRARY).newDigest();
        ByteBuffer b = ByteBuffer.allocateDirect(100);
        b.position(10).limit(90);
        digest.update(b);
        assertEquals(10, b.position());
        assertEquals(90, b.limit());
        digest.close();
    }

    @Test
    void aClosedDigestIgnoresUpdatesAndHasNoHex() {
        FsDigest digest = Sha256Source.load(Sha256Source.DEFAULT_LIBRARY).newDigest();
        digest.update(ByteBuffer.wrap(bytes(100)));
        digest.close();
        digest.update(ByteBuffer.wrap(bytes(100)));
        digest.close();
        assertThrows(IllegalStateException.class, digest::hex);
    }

    @Test
    void aMissingLibraryFallsBackToTheJdkWithOneWarning() throws Exception {
        ListAppender<ILoggingEvent> log = listen();
        try {
            Sha256Source source = Sha256Source.load("libagentd-no-such-crypto.so.9");
            assertFalse(source.isNative());
            byte[] data = bytes(MIB + 1);
            FsDigest digest = source.newDigest();
            digest.update(at(data, 0, 7, true));
            digest.update(at(data, 7, data.length - 7, false));
            assertEquals(jdk(data), digest.hex());
            assertEquals(1, log.list.size());
            assertTrue(log.list.get(0).getFormattedMessage().contains("libagentd-no-such-crypto.so.9"),
                    log.list.get(0).getFormattedMessage());
        } finally {
            unlisten(log);
        }
    }

    @Test
    void aLibraryWithoutTheEvpCallsIsNotLibcrypto() {
        ListAppender<ILoggingEvent> log = listen();
        try {
            assertFalse(Sha256Source.load("libc.so.6").isNative());
            assertEquals(1, log.list.size());
        } finally {
            unlisten(log);
        }
    }

    /**
     * The agent's own choice, in a JVM of its own (it is made once per JVM): the system property
     * names a missing library, so every transfer's digest is the JDK's, and the log says so once.
     */
    @Test
    void thePropertyNamesTheLibraryAndTheFallbackIsLoggedOnce() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(),
                "-cp", System.getProperty("java.class.path"),
                "-Djffi.boot.library.path=" + System.getProperty("jffi.boot.library.path"),
                "-D" + Sha256Source.LIBRARY_PROPERTY + "=libagentd-no-such-crypto.so.9",
                TwoDigests.class.getName()).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        String abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assertEquals("native false " + abc + "\nnative false " + abc + "\n", out, err);
        assertEquals(1, err.lines().filter(l -> l.contains("libagentd-no-such-crypto.so.9")).count(), err);
    }

    /**
     * A transfer's digest as the streams use it: made on the loop, updated on a worker (where the
     * real digest is made), ended on the loop; a transfer of no bytes never makes one.
     */
    @Test
    void aTransfersDigestIsMadeOnItsWorkerAndEndedOnTheLoop() throws Exception {
        byte[] data = bytes(MIB + 1);
        FsDigest digest = FsDigest.sha256();
        Thread worker = new Thread(() -> {
            digest.update(at(data, 0, 1000, true));
            digest.update(at(data, 1000, data.length - 1000, true));
        });
        worker.start();
        worker.join();
        assertEquals(jdk(data), digest.hex());
        assertThrows(IllegalStateException.class, digest::hex);

        FsDigest none = FsDigest.sha256();
        assertEquals(jdk(new byte[0]), none.hex());
        assertEquals(jdk(new byte[0]), DeferredSha256.EMPTY);

        FsDigest aborted = FsDigest.sha256();
        aborted.close();
        aborted.update(at(data, 0, 64, true));
        aborted.close();
        assertThrows(IllegalStateException.class, aborted::hex);
    }

    /** Two transfers' digests of "abc", from the agent's shared source; run by the test above. */
    public static final class TwoDigests {
        public static void main(String[] args) {
            for (int i = 0; i < 2; i++) {
                FsDigest d = FsDigest.sha256();
                d.update(ByteBuffer.wrap("abc".getBytes(StandardCharsets.US_ASCII)));
                System.out.println("native " + Sha256Source.shared().isNative() + " " + d.hex());
            }
        }
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** data[from, from + n) as the remaining bytes of a buffer whose position is not 0. */
    private static ByteBuffer at(byte[] data, int from, int n, boolean direct) {
        int pad = 5;
        ByteBuffer b = direct ? ByteBuffer.allocateDirect(n + 2 * pad) : ByteBuffer.allocate(n + 2 * pad);
        b.position(pad);
        b.put(data, from, n);
        return b.limit(pad + n).position(pad);
    }

    private static String jdk(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static ListAppender<ILoggingEvent> listen() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        ((Logger) LoggerFactory.getLogger(Sha256Source.class)).addAppender(appender);
        return appender;
    }

    private static void unlisten(ListAppender<ILoggingEvent> appender) {
        ((Logger) LoggerFactory.getLogger(Sha256Source.class)).detachAppender(appender);
    }
}
