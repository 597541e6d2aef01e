package io.agentd.client.cli.cp;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * cp's progress line on stderr: bytes copied (of the total, when known), rate and time left,
 * redrawn in place a few times a second, shown only when stderr is a terminal and the copy has
 * taken more than {@link #SHOW_AFTER_NANOS}. Counts from any thread.
 */
final class CopyProgress implements LongConsumer, AutoCloseable {
    static final long SHOW_AFTER_NANOS = 1_000_000_000L;
    private static final long REDRAW_MILLIS = 250;

    private final PrintStream err;
    private final LongSupplier clock;
    private final long start;
    private final AtomicLong done = new AtomicLong();
    private volatile long total = -1;
    private boolean drawn; // guarded by this
    private Thread painter;

    private CopyProgress(PrintStream err, LongSupplier clock) {
        this.err = err;
        this.clock = clock;
        this.start = clock.getAsLong();
    }

    /** A progress line on {@code err} when stderr is a terminal; otherwise one that only counts. */
    static CopyProgress onStderr(PrintStream err) {
        CopyProgress p = new CopyProgress(err, System::nanoTime);
        if (stderrIsTerminal()) {
            p.painter = new Thread(p::paint, "agentctl-cp-progress");
            p.painter.setDaemon(true);
            p.painter.start();
        }
        return p;
    }

    /** For tests: a line drawn only by {@link #draw}, with the given clock. */
    static CopyProgress forTest(PrintStream err, LongSupplier clock) {
        return new CopyProgress(err, clock);
    }

    /** fd 2 is a terminal (Linux: its /proc link names a tty device). */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (Exception e) {
            return false;
        }
    }

    /** True when a line is drawn (stderr is a terminal): only then is the total worth working out. */
    boolean painting() {
        return painter != null;
    }

    void setTotal(long bytes) {
        total = bytes;
    }

    @Override
    public void accept(long bytes) {
        done.addAndGet(bytes);
    }

    long done() {
        return done.get();
    }

    private void paint() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(REDRAW_MILLIS);
                draw();
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    /** Redraws the line, once the copy has run long enough. */
    synchronized void draw() {
        long elapsed = clock.getAsLong() - start;
        if (elapsed < SHOW_AFTER_NANOS) {
            return;
        }
        err.print("\r" + line(done.get(), total, elapsed) + "\u001b[K");
        err.flush();
        drawn = true;
    }

    /** "512.0 MiB / 1.0 GiB  50%  128.0 MiB/s  ETA 0:04" (without the total: bytes and rate). */
    static String line(long done, long total, long elapsedNanos) {
        double seconds = Math.max(elapsedNanos / 1e9, 1e-3);
        double rate = done / seconds;
        StringBuilder s = new StringBuilder(bytes(done));
        if (total >= 0) {
            s.append(" / ").append(bytes(total));
            int pct = total == 0 ? 100 : (int) Math.min(100, done * 100 / total);
            s.append(String.format(Locale.ROOT, " %3d%%", pct));
        }
        s.append("  ").append(bytes((long) rate)).append("/s");
        if (total >= 0 && rate > 0) {
            long left = (long) Math.ceil(Math.max(0, total - done) / rate);
            s.append(String.format(Locale.ROOT, "  ETA %d:%02d", left / 60, left % 60));
        }
        return s.toString();
    }

    static String bytes(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Stops redrawing; a line that was drawn gets its final state and a newline. */
    @Override
    public void close() {
        if (painter != null) {
            painter.interrupt();
            try {
                painter.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (drawn) {
                draw();
                err.println();
            }
        }
    }
}
