package io.agentd.client.cli;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.Ready;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Does, on a thread of its own at agentctl's start, the one-time set-up that every command meets on
 * its path after the connect, beside the argument parsing and logging's start on the main thread
 * (BENCHMARKS.md, "Thirtieth session"):
 * <ul>
 *   <li>the JDK's first unix socket channel: sun.nio.ch.UnixDomainSockets' static initialiser makes
 *       a SecureRandom ("NativePRNGNonBlocking"), which starts the security providers (the
 *       java.security file, the Sun provider and its OID table);</li>
 *   <li>the frame codec: one core.ready encoded and decoded loads and initialises the CBOR classes
 *       the connection's reader needs for the agent's first frame.</li>
 * </ul>
 * The main thread finds them done, or waits for the rest on their classes' initialisation locks;
 * nothing is opened or sent, and a failure here is left to the real use to report.
 */
final class StartWarmUp {
    private StartWarmUp() {}

    /** Starts the warm-up (a daemon thread: it never holds the process up). */
    static void start() {
        Thread thread = new Thread(StartWarmUp::run, "agentctl-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    private static void run() {
        try {
            SecureRandom.getInstance("NativePRNGNonBlocking");
        } catch (NoSuchAlgorithmException | RuntimeException e) {
            // the JDK's own initialiser falls back, or fails, the same way at the connect
        }
        try {
            readyRoundTrip();
        } catch (ProtocolException | RuntimeException e) {
            // the connection's reader decodes the real frames and reports what fails there
        }
    }

    /** A core.ready encoded and decoded as the connection's writer and reader do: the decoded frame. */
    static Frame readyRoundTrip() throws ProtocolException {
        byte[] ready = new FrameEncoder().encode(new Frame(Protocol.CONTROL_ID, MessageType.CORE_READY,
                new Ready(0, 0, 0, "warm-up")));
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(ready, 0, ready.length);
        return decoder.next();
    }
}
