package io.agentd.bench;

import io.agentd.protocol.payload.ExecRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pings a guest's agent from inside the guest: the guest's agentctl, run as one of the agent's
 * sessions, pings it through a unix socket the agent serves in the guest, each ping 10 ms after the last
 * pong ({@code agentctl ping --count --interval}), and prints each round trip, which comes back here
 * as the session's output. Through the host's relay every host shares the agent's one virtio-serial
 * port, whose frames the agent takes in order, so a second host connection there pings behind the
 * flood; the guest's socket is a link of its own, as a second host's socket is on the host. The pinger is a JVM in the same guest as the load: its own waits for a vCPU count too.
 */
final class GuestPinger implements PingSeries {
    private static final Pattern PONG = Pattern.compile("pong from .*: time=([0-9.]+) ms");
    /** The guest's agentctl is a JVM started under TCG: seconds, more while the guest is busy. */
    private static final long START_TIMEOUT_SECONDS = 120;
    private static final int SIGTERM = 15;

    private final AgentLink.Session session;
    private final ByteArrayOutputStream stderr;
    /** Pongs before the idle ones are counted: the guest JVM's first calls run interpreted. */
    private static final int WARM_UP_PONGS = 50;
    private static final int IDLE_PONGS = 200;

    private final Samples samples = new Samples(1024);
    private final Samples idle = new Samples(IDLE_PONGS);
    private final CountDownLatch idleTaken = new CountDownLatch(WARM_UP_PONGS + IDLE_PONGS);
    private final StringBuilder partialLine = new StringBuilder();
    private volatile boolean counting;

    private GuestPinger(AgentLink agent, String socket) throws IOException {
        stderr = new ByteArrayOutputStream();
        session = agent.exec(ExecRequest.of("agentctl", "--socket", socket, "--ready-timeout",
                START_TIMEOUT_SECONDS + "s", "ping", "--count", "10000000", "--interval", "10ms"), this::onStdout,
                (b, off, len) -> {
                    synchronized (stderr) {
                        stderr.write(b, off, len);
                    }
                });
    }

    /**
     * Starts the guest's pinger and returns once it has warmed up and taken its idle pongs; fails with
     * the pinger's own words as soon as it has ended (an image whose agentctl lacks ping --count, an
     * agent without the socket), or after {@link #START_TIMEOUT_SECONDS}.
     */
    static GuestPinger launch(AgentLink agent, String socket) throws Exception {
        GuestPinger pinger = new GuestPinger(agent, socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_SECONDS);
        while (!pinger.idleTaken.await(1, TimeUnit.SECONDS)) {
            Integer exited = pinger.exitedBy(1);
            if (exited != null) {
                throw new IOException("the guest's agentctl ping exited " + exited + " before its idle pongs: "
                        + pinger.stderrText());
            }
            if (System.nanoTime() > deadline) {
                try {
                    pinger.session.signal(SIGTERM);
                } catch (Exception endedMeanwhile) {
                    // the message below is what matters
                }
                throw new IOException("the guest's agentctl ping printed " + pinger.idleTaken.getCount()
                        + " pongs too few in " + START_TIMEOUT_SECONDS + " s: " + pinger.stderrText());
            }
        }
        return pinger;
    }

    /** The pinger's exit code if it ends within {@code millis}; null while it runs. */
    private Integer exitedBy(long millis) throws Exception {
        try {
            return session.awaitExit(TimeUnit.MILLISECONDS.toNanos(millis));
        } catch (java.util.concurrent.TimeoutException stillRunning) {
            return null;
        }
    }

    @Override
    public Samples idle() {
        synchronized (samples) {
            return idle;
        }
    }

    @Override
    public void start() {
        counting = true;
    }

    @Override
    public Samples stopAndCollect() throws Exception {
        counting = false;
        Integer ended = exitedBy(0);
        if (ended != null) {
            throw new IOException("the guest's pinger exited " + ended + " during the run: " + stderrText());
        }
        try {
            session.signal(SIGTERM);
        } catch (Exception endedMeanwhile) {
            // its exit code below says how it ended
        }
        int code = session.awaitExit();
        // 143: ended by the SIGTERM above. Anything else: it ended by itself, a ping failed.
        if (code != 128 + SIGTERM) {
            throw new IOException("the guest's pinger exited " + code + " during the run: " + stderrText());
        }
        synchronized (samples) {
            return samples;
        }
    }

    /** Output arrives in pieces that need not end at a line's end. */
    private void onStdout(byte[] data, int off, int len) {
        synchronized (partialLine) {
            partialLine.append(new String(data, off, len, StandardCharsets.UTF_8));
            int nl;
            while ((nl = partialLine.indexOf("\n")) >= 0) {
                Matcher m = PONG.matcher(partialLine.substring(0, nl));
                partialLine.delete(0, nl + 1);
                if (m.matches()) {
                    long rtt = Math.round(Double.parseDouble(m.group(1)) * 1e6);
                    synchronized (samples) {
                        if (counting) {
                            samples.add(rtt);
                        } else if (idleTaken.getCount() <= IDLE_PONGS && idleTaken.getCount() > 0) {
                            idle.add(rtt);
                        }
                    }
                    idleTaken.countDown();
                }
            }
        }
    }

    private String stderrText() {
        synchronized (stderr) {
            return stderr.toString(StandardCharsets.UTF_8).strip();
        }
    }
}
