package io.agentd.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Pings the agent every 10 ms on its own thread until stopped: how responsive it stays under a load. */
final class Pinger extends Thread implements PingSeries {
    private static final long PING_INTERVAL_MILLIS = 10;

    private final AgentLink agent;
    private final Duration pongTimeout;
    private final Samples samples = new Samples(1024);
    private volatile boolean stop;
    private volatile Exception failure;

    Pinger(AgentLink agent) {
        this(agent, AgentLink.WAIT);
    }

    /**
     * A pinger whose pongs may take up to {@code pongTimeout}: a ping on the connection that carries
     * a flood of requests waits behind all of them, so it gets as long as the run may take.
     */
    Pinger(AgentLink agent, Duration pongTimeout) {
        super("bench-pinger");
        this.agent = agent;
        this.pongTimeout = pongTimeout;
        setDaemon(true);
    }

    @Override
    public void run() {
        try {
            while (!stop) {
                samples.add(agent.pingNanos(pongTimeout));
                Thread.sleep(PING_INTERVAL_MILLIS);
            }
        } catch (Exception e) {
            failure = e;
        }
    }

    @Override
    public Samples stopAndCollect() throws Exception {
        stop = true;
        join(TimeUnit.SECONDS.toMillis(30));
        if (failure != null) {
            throw new IOException("ping failed during the run", failure);
        }
        if (isAlive()) {
            throw new IOException("a ping got no answer for 30 s");
        }
        return samples;
    }
}
