package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CopyProgressTest {

    @Test
    void theLineShowsBytesRateAndTimeLeft() {
        long second = 1_000_000_000L;
        assertEquals("512.0 MiB / 1.0 GiB  50%  128.0 MiB/s  ETA 0:04",
                CopyProgress.line(512L << 20, 1L << 30, 4 * second));
        assertEquals("1.5 KiB  768 B/s", CopyProgress.line(1536, -1, 2 * second), "without a total: no ETA");
        assertEquals("0 B / 0 B 100%  0 B/s", CopyProgress.line(0, 0, second));
        assertEquals("10.0 MiB / 10.0 MiB 100%  1.0 MiB/s  ETA 0:00",
                CopyProgress.line(10L << 20, 10L << 20, 10 * second));
    }

    @Test
    void nothingIsDrawnInTheFirstSecondAndTheLastLineEndsWithANewline() {
        AtomicLong now = new AtomicLong();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        CopyProgress p = CopyProgress.forTest(err, now::get);
        p.setTotal(100);
        p.accept(10);
        now.set(CopyProgress.SHOW_AFTER_NANOS - 1);
        p.draw();
        assertEquals("", bytes.toString(StandardCharsets.UTF_8), "a quick copy shows nothing");
        now.set(2 * CopyProgress.SHOW_AFTER_NANOS);
        p.accept(40);
        p.draw();
        String drawn = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(drawn.startsWith("\r50 B / 100 B  50%"), drawn);
        p.accept(50);
        p.close();
        String all = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(all.contains("\r100 B / 100 B 100%"), all);
        assertTrue(all.endsWith("\n"), "the line is left in place");
    }
}
