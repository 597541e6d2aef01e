package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * {@code agentctl ping [--count N] [--interval DURATION]}: N pings on one connection, one line each as
 * its pong comes (flushed, so a reader sees each at once), a summary after more than one. One ping,
 * the default, prints what it always did. A ping unanswered for 10 s ends it as an unavailable agent.
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

    static int run(Options options, ExecCommand.Connector connector, String address, PrintStream out)
            throws Agentctl.Unavailable {
        RoundTrips rtts = new RoundTrips();
        try (AgentClient client = connector.connect()) {
            for (int i = 0; i < options.count(); i++) {
                if (i > 0) {
                    Thread.sleep(options.interval().toMillis(), options.interval().toNanosPart() % 1_000_000);
                }
                long rtt = client.ping(PING_TIMEOUT).toNanos();
                rtts.add(rtt);
                out.printf(Locale.ROOT, "pong from %s: time=%.3f ms%n", address, rtt / 1e6);
                out.flush();
            }
        } catch (IOException | TimeoutException e) {
            throw new Agentctl.Unavailable("ping: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Agentctl.Unavailable("ping: interrupted");
        }
        if (options.count() > 1) {
            out.println(rtts.summary());
        }
        return 0;
    }

    /** What the summary needs of the round trips so far, without keeping them. */
    static final class RoundTrips {
        private long count;
        private long minNanos = Long.MAX_VALUE;
        private long maxNanos;
        private double sumNanos;

        void add(long rttNanos) {
            count++;
            minNanos = Math.min(minNanos, rttNanos);
            maxNanos = Math.max(maxNanos, rttNanos);
            sumNanos += rttNanos;
        }

        /** "N pongs: min/avg/max = A/B/C ms", as ping(8) sums up. */
        String summary() {
            return String.format(Locale.ROOT, "%d pongs: min/avg/max = %.3f/%.3f/%.3f ms", count, minNanos / 1e6,
                    sumNanos / count / 1e6, maxNanos / 1e6);
        }
    }
}
