package io.agentd.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A child's stdout read to its end and its exit awaited, both under one deadline. Reading to EOF
 * first and then calling {@code waitFor(timeout)} bounds nothing: the read returns only once every
 * holder of the pipe has closed it, so a hung child, or one that exited leaving a child of its own
 * with the pipe, held the bench up for ever. Past the deadline the child and its descendants are
 * killed and an IOException says so: the benchmark becomes a FAILED row instead of a hang.
 */
final class BoundedRead {
    /** Where the bytes go as they come (a counter for the throughput baselines, which never keep them). */
    interface Sink {
        void accept(byte[] buffer, int length) throws IOException;
    }

    /** What a child printed and its exit status. */
    record Output(byte[] stdout, int exitCode) {}

    private BoundedRead() {}

    /** Reads all of {@code p}'s stdout and waits for its exit, within {@code limit}. */
    static Output readAll(Process p, Duration limit, String what) throws IOException, InterruptedException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = drain(p, limit, 8192, what, (b, n) -> out.write(b, 0, n));
        return new Output(out.toByteArray(), code);
    }

    /**
     * Hands {@code p}'s stdout to {@code sink} in reads of up to {@code bufferSize} bytes until its end,
     * then waits for its exit, all within {@code limit}; returns its exit status.
     */
    static int drain(Process p, Duration limit, int bufferSize, String what, Sink sink)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        CompletableFuture<Void> read = new CompletableFuture<>();
        // The read runs on a thread of its own so that this one can give up on it: no call wakes a read
        // blocked on a pipe. A reader left blocked by an orphan holding the pipe is a daemon and dies with
        // the JVM.
        Thread reader = new Thread(() -> {
            byte[] buffer = new byte[bufferSize];
            try (InputStream in = p.getInputStream()) {
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    sink.accept(buffer, n);
                }
                read.complete(null);
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        }, "bounded-read " + p.pid());
        reader.setDaemon(true);
        reader.start();
        try {
            read.get(remaining(deadline), TimeUnit.NANOSECONDS);
            if (!p.waitFor(remaining(deadline), TimeUnit.NANOSECONDS)) {
                throw new TimeoutException();
            }
            return p.exitValue();
        } catch (TimeoutException e) {
            boolean exited = !p.isAlive();
            ProcessTree.destroyForcibly(p.toHandle());
            throw new IOException(what + (exited
                    ? " exited but its output was still open after " + limit.toSeconds() + " s (a child of its own holds it)"
                    : " did not finish in " + limit.toSeconds() + " s: killed"));
        } catch (ExecutionException e) {
            ProcessTree.destroyForcibly(p.toHandle());
            throw new IOException("reading the output of " + what + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            ProcessTree.destroyForcibly(p.toHandle());
            throw e;
        }
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }
}
