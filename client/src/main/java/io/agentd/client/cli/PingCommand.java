package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * {@code agentctl ping [--count N] [--interval DURATION]}: N pings on one connection, the next DURATION
 * after each pong, one line each as its pong comes (flushed, so a reader sees each at once), and after
 * more than one a summary, also when a ping fails or a signal ends the run. One ping, the default,
 * prints what it always did. A ping unanswered for 10 s ends it as an unavailable agent; a stdout
 * nobody reads any more ends it too.
 */
final class PingCommand {
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    /** A day of pings at 10 ms, with room to spare. */
    static final int MAX_COUNT = 10_000_000;

    record Options(int count, Duration interval) {}

    private PingCommand() {}

    static Options parse(List<String> rest) throws UsageException {
        int count = 1;
        Duration interval = DEFAULT_INTERVAL;
        for (int i = 0; i < rest.size(); ) {
            OptionArg opt = OptionArg.split(rest.get(i), rest, i);
            switch (opt.name()) {
                case "--count" -> count = count(opt.value());
                case "--interval" -> interval = Durations.parse("--interval", opt.value());
                default -> throw new UsageException("ping: unknown argument " + rest.get(i));
            }
            i += opt.consumed();
        }
        return new Options(count, interval);
    }

    private static int count(String text) throws UsageException {
        try {
            int n = Integer.parseInt(text);
            if (n >= 1 && n <= MAX_COUNT) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new UsageException("--count: a number from 1 to " + MAX_COUNT + ", not '" + text + "'");
    }

    static int run(Options options, Connector connector, String address, PrintStream out)
            throws Agentctl.Unavailable {
        RoundTrips rtts = new RoundTrips();
        // A long run is ended by ^C or SIGTERM: its summary still comes, as ping(8)'s does.
        Thread summaryAtExit = options.count() > 1 ? new Thread(() -> rtts.printSummaryOnce(out)) : null;
        if (summaryAtExit != null) {
            Runtime.getRuntime().addShutdownHook(summaryAtExit);
        }
        try (AgentClient client = connector.connect()) {
            for (int i = 0; i < options.count(); i++) {
                if (i > 0) {
                    Thread.sleep(options.interval().toMillis(), options.interval().toNanosPart() % 1_000_000);
                }
                long rtt = client.ping(PING_TIMEOUT).toNanos();
                rtts.add(rtt);
                out.printf(Locale.ROOT, "pong from %s: time=%.3f ms%n", address, rtt / 1e6);
                out.flush();
                if (out.checkError()) {
                    // Nobody reads any more (`| head -1`) or the disk is full: stop, as ping(8) does
                    // at SIGPIPE, which the JVM ignores. Agentctl.finalStatus says which.
                    return 0;
                }
            }
        } catch (IOException | TimeoutException e) {
            printSummaryIfMany(options, rtts, out); // what came before the failure
            throw new Agentctl.Unavailable("ping: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Agentctl.Unavailable("ping: interrupted");
        } finally {
            if (summaryAtExit != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(summaryAtExit);
                } catch (IllegalStateException shuttingDown) {
                    // the hook prints the summary
                }
            }
        }
        printSummaryIfMany(options, rtts, out);
        return 0;
    }

    private static void printSummaryIfMany(Options options, RoundTrips rtts, PrintStream out) {
        if (options.count() > 1) {
            rtts.printSummaryOnce(out);
        }
    }

    /** What the summary needs of the round trips so far, without keeping them. */
    static final class RoundTrips {
        private long count;
        private long minNanos = Long.MAX_VALUE;
        private long maxNanos;
        private double sumNanos;

        private boolean summaryPrinted;

        synchronized void add(long rttNanos) {
            count++;
            minNanos = Math.min(minNanos, rttNanos);
            maxNanos = Math.max(maxNanos, rttNanos);
            sumNanos += rttNanos;
        }

        /** The summary, once (the run's end and a signal's shutdown hook may both ask), if any pong came. */
        synchronized void printSummaryOnce(PrintStream out) {
            if (!summaryPrinted && count > 0) {
                summaryPrinted = true;
                out.println(summary());
                out.flush();
            }
        }

        /** "N pongs: min/avg/max = A/B/C ms", as ping(8) sums up. */
        synchronized String summary() {
            return String.format(Locale.ROOT, "%d pongs: min/avg/max = %.3f/%.3f/%.3f ms", count, minNanos / 1e6,
                    sumNanos / count / 1e6, maxNanos / 1e6);
        }
    }
}
