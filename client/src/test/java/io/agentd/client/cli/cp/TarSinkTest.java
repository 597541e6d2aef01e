package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.ConnectionLostException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

/** TarSink's handling of a source that breaks off and of stdout that cannot be written. */
class TarSinkTest {
    /** Counts what reaches it. */
    private static final class Counting extends OutputStream {
        long written;

        @Override
        public void write(int b) {
            written++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            written += len;
        }
    }

    /** 1 MiB of bytes, then the connection is gone. */
    private static final class LostAfter extends InputStream {
        long left = 1 << 20;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                throw new ConnectionLostException("connection lost", null);
            }
            int n = (int) Math.min(len, left);
            left -= n;
            return n;
        }
    }

    @Test
    void aConnectionLostMidFileIsNotPaddedToTheAnnouncedSize() throws Exception {
        Counting out = new Counting();
        TarSink sink = new TarSink(out);
        long announced = 4L << 30; // 4 GiB announced, 1 MiB arrives
        Entry big = new Entry(Entry.Kind.FILE, announced, 0644, 0, 0);
        assertThrows(ConnectionLostException.class,
                () -> sink.writeFile("big", big, false, new SourceStream(new LostAfter(), ":/big"), null));
        assertTrue(out.written < 2L << 20, "no padding after a lost connection: " + out.written + " bytes written");
    }


    /** A source whose reads fail as a guest's Read answered with EIO does (no byte of it read). */
    private static final class FailingRead extends InputStream {
        @Override
        public int read() throws IOException {
            throw new IOException("Input/output error");
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            throw new IOException("Input/output error");
        }
    }

    /**
     * A guest that says /big holds 1 TiB and sends none of it (its first Read ends the file): the
     * archive stops there, cut short, with the one line of what was missing, not padded. Before,
     * the entry was padded with zeros to the size the guest gave: 1 TiB of them to stdout (here a
     * stdout that fails past 64 MiB, so that the old way fails fast).
     */
    @Test
    void aFileTheGuestSentFarLessOfThanItsSizeSaysStopsTheTarUnpadded() throws Exception {
        CountingOutput out = new CountingOutput(64L << 20);
        TarSink sink = new TarSink(out);
        long announced = 1L << 40;
        Entry big = new Entry(Entry.Kind.FILE, announced, 0644, 0, 0);

        TarCutShort cut = assertThrows(TarCutShort.class, () -> sink.writeFile("big", big, false,
                new SourceStream(InputStream.nullInputStream(), ":/big"), null));

        assertEquals("error reading ':/big': file shrank by 1099511627776 of its 1099511627776 bytes; the archive"
                + " stops here, cut short (at most 1048576 bytes in all are padded with zeros)", cut.getMessage());
        assertTrue(out.written < TarSink.MAX_PADDING, "no padding: " + out.written + " bytes written");
        assertTrue(CopyFailure.endsTheCopy(cut), "the copy stops: nothing after it would be a member of the archive");
    }

    /** As above, the guest's Read failing (EIO) rather than ending the file: the read's failure, and what it left out. */
    @Test
    void aReadThatFailsFarBeforeTheSizeStopsTheTarUnpadded() throws Exception {
        CountingOutput out = new CountingOutput(64L << 20);
        TarSink sink = new TarSink(out);
        Entry big = new Entry(Entry.Kind.FILE, 1L << 40, 0644, 0, 0);

        TarCutShort cut = assertThrows(TarCutShort.class, () -> sink.writeFile("big", big, false,
                new SourceStream(new FailingRead(), ":/big"), null));

        assertEquals("error reading ':/big': Input/output error (1099511627776 of its 1099511627776 bytes not read);"
                + " the archive stops here, cut short (at most 1048576 bytes in all are padded with zeros)", cut.getMessage());
        assertTrue(out.written < TarSink.MAX_PADDING, "no padding: " + out.written + " bytes written");
    }

    /**
     * A file that shrank by at most {@link TarSink#MAX_PADDING} while it was read is padded with
     * zeros to its header's size, reported as GNU tar reports it, and the tar goes on; one byte
     * more missing stops it.
     */
    @Test
    void aFileThatShrankByAtMostAMebibyteIsPaddedAndTheTarGoesOn() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TarSink sink = new TarSink(out);
        byte[] sent = "abc".getBytes(StandardCharsets.UTF_8);
        long announced = sent.length + TarSink.MAX_PADDING;

        CopyFailure shrank = assertThrows(CopyFailure.class, () -> sink.writeFile("f", new Entry(Entry.Kind.FILE,
                announced, 0644, 0, 0), false, new SourceStream(new ByteArrayInputStream(sent), ":/f"), null));
        assertEquals("error reading ':/f': file shrank by 1048576 of its 1048579 bytes; padding with zeros",
                shrank.getMessage());
        sink.writeFile("next", new Entry(Entry.Kind.FILE, 2, 0644, 0, 0), false,
                new SourceStream(new ByteArrayInputStream("ok".getBytes(StandardCharsets.UTF_8)), ":/next"), null);
        sink.finish();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            assertEquals("f", tar.getNextEntry().getName());
            byte[] f = tar.readAllBytes();
            assertEquals(announced, f.length);
            assertEquals("abc", new String(f, 0, 3, StandardCharsets.UTF_8));
            for (int i = 3; i < f.length; i++) {
                assertEquals(0, f[i], "zeros after what was read");
            }
            assertEquals("next", tar.getNextEntry().getName(), "the tar goes on with the next file");
        }
        TarSink another = new TarSink(new ByteArrayOutputStream());
        assertThrows(TarCutShort.class, () -> another.writeFile("g", new Entry(Entry.Kind.FILE, announced + 1, 0644, 0,
                0), false, new SourceStream(new ByteArrayInputStream(sent), ":/g"), null), "1 MiB and a byte missing");
    }

    /**
     * The padding is counted over the archive: once files short of their sizes have taken
     * {@link TarSink#MAX_PADDING} of zeros in all, the next one short by a single byte stops it.
     * Per file, a guest listing 300 files of 1 MiB each and sending none of their bytes got 300 MiB
     * of zeros written (a review).
     */
    @Test
    void thePaddingIsAMebibyteForTheWholeArchive() throws Exception {
        CountingOutput out = new CountingOutput(64L << 20);
        TarSink sink = new TarSink(out);
        long half = TarSink.MAX_PADDING / 2;
        for (String name : new String[] {"a", "b"}) {
            assertThrows(CopyFailure.class, () -> sink.writeFile(name, new Entry(Entry.Kind.FILE, half, 0644, 0, 0),
                    false, new SourceStream(new ByteArrayInputStream(new byte[0]), ":/" + name), null));
        }
        assertThrows(TarCutShort.class, () -> sink.writeFile("c", new Entry(Entry.Kind.FILE, 1, 0644, 0, 0), false,
                new SourceStream(new ByteArrayInputStream(new byte[0]), ":/c"), null), "a byte past the budget");
        assertTrue(out.written < 2 * TarSink.MAX_PADDING, out.written + " bytes written");
    }

    /**
     * A size past 2^63-1 from the guest (a u64, negative as a long) is that file's failure, and the
     * tar goes on. Before, commons' IllegalArgumentException ended the copy as an internal error
     * (exit 125) with the tar unfinished.
     */
    @Test
    void aSizeNoFileCanHaveIsThatFilesFailure() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TarSink sink = new TarSink(out);
        Entry impossible = new Entry(Entry.Kind.FILE, -1, 0644, 0, 0);
        CopyFailure refused = assertThrows(CopyFailure.class, () -> sink.writeFile("huge", impossible, false,
                new SourceStream(new ByteArrayInputStream(new byte[0]), ":/huge"), null));
        assertTrue(refused.getMessage().contains("18446744073709551615 bytes as the guest gives it"), refused.getMessage());
        sink.writeFile("next", new Entry(Entry.Kind.FILE, 2, 0644, 0, 0), false,
                new SourceStream(new ByteArrayInputStream("ok".getBytes(StandardCharsets.UTF_8)), ":/next"), null);
        sink.finish();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            assertEquals("next", tar.getNextEntry().getName(), "the tar goes on with the next file");
            assertNull(tar.getNextEntry());
        }
    }

    /** A guest's set-id bits do not reach the tar (owned 0/0: tar x as root made a setuid-root file); the rest does. */
    @Test
    void setIdBitsAreClearedAndTheStickyBitKept() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TarSink sink = new TarSink(out);
        sink.mkdir("d", new Entry(Entry.Kind.DIR, 0, 03775, 0, 0));
        sink.writeFile("d/suid", new Entry(Entry.Kind.FILE, 2, 06755, 0, 0), true,
                new SourceStream(new ByteArrayInputStream("id".getBytes(StandardCharsets.UTF_8)), ":/d/suid"), null);
        sink.finish();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            assertEquals(041775, tar.getNextEntry().getMode());
            assertEquals(0100755, tar.getNextEntry().getMode());
        }
    }

    /** A path that is not relative names of entries is no member, whoever built it: nothing is written for it. */
    @Test
    void noMemberIsAbsoluteOrClimbsOut() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TarSink sink = new TarSink(out);
        Entry dir = new Entry(Entry.Kind.DIR, 0, 0755, 0, 0);
        Entry file = new Entry(Entry.Kind.FILE, 0, 0644, 0, 0);
        for (String path : List.of("..", "../x", "/x", "a/../b", "a//b", "./a", "")) {
            assertThrows(CopyFailure.class, () -> sink.mkdir(path, dir), path);
            assertThrows(CopyFailure.class,
                    () -> sink.writeFile(path, file, false, InputStream.nullInputStream(), null), path);
            assertThrows(CopyFailure.class, () -> sink.symlink("t", path, new Entry(Entry.Kind.LINK, 1, 0777, 0, 0)), path);
        }
        sink.finish();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            assertNull(in.getNextEntry(), "an empty archive");
        }
    }

    @Test
    void aPrintStreamThatFailsStopsTheTarWithOneLine() throws Exception {
        PrintStream broken = new PrintStream(new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }
        });
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        TarSink sink = new TarSink(new StdoutStream(broken));
        Copier copier = new Copier(new PrintStream(err, true, StandardCharsets.UTF_8), false,
                CopyProgress.onStderr(new PrintStream(OutputStream.nullOutputStream())));
        Entry dir = new Entry(Entry.Kind.DIR, 0, 0755, 0, 0);
        StdoutFailure e = assertThrows(StdoutFailure.class, () -> {
            sink.mkdir("d", dir);
            sink.finish();
        });
        assertThrows(StdoutFailure.class, () -> copier.report(e), "not counted as one item's failure");
        assertEquals(0, copier.failures());
        assertEquals("error writing to standard output: write error", e.getMessage());
    }
}
