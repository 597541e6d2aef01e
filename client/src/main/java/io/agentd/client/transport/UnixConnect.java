package io.agentd.client.transport;

import io.agentd.client.Timeouts;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A connect to a unix socket that gives up at a deadline. connect(2) to a listener that does not
 * accept (a stopped agent, relay or VMM) and whose backlog is full waits for room in it with no
 * limit; a non-blocking connect fails at once instead (EAGAIN, which the JDK reports only as a
 * message). So the connect blocks, and a timer closes the channel if it still waits at the
 * deadline, which ends the connect.
 */
public final class UnixConnect {
    private static final int CONNECTING = 0;
    private static final int CONNECTED = 1;
    private static final int TIMED_OUT = 2;

    /** One daemon thread while some connect waits, none otherwise; a cancelled timer is dropped at once. */
    private static final class Timer {
        static final ScheduledThreadPoolExecutor EXECUTOR = make();

        private static ScheduledThreadPoolExecutor make() {
            ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "agentd-unix-connect-timer");
                t.setDaemon(true);
                return t;
            });
            executor.setRemoveOnCancelPolicy(true);
            executor.setKeepAliveTime(1, TimeUnit.SECONDS);
            executor.allowCoreThreadTimeOut(true);
            return executor;
        }
    }

    private UnixConnect() {}

    /**
     * A blocking channel connected to {@code path}; the JDK's exception when it refuses or is missing,
     * {@link TimedOut} when it takes no connection within {@code timeout}.
     */
    public static SocketChannel connect(Path path, Duration timeout) throws IOException {
        long nanos = Timeouts.nanos(timeout);
        if (nanos == 0) {
            return connectNow(path, timeout);
        }
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        AtomicInteger state = new AtomicInteger(CONNECTING);
        ScheduledFuture<?> timer = nanos == Long.MAX_VALUE ? null : Timer.EXECUTOR.schedule(() -> {
            if (state.compareAndSet(CONNECTING, TIMED_OUT)) {
                closeQuietly(channel);
            }
        }, nanos, TimeUnit.NANOSECONDS);
        try {
            channel.connect(UnixDomainSocketAddress.of(path));
            if (state.getAndSet(CONNECTED) == TIMED_OUT) { // the timer closed it just after the connect
                throw timedOut(path, timeout);
            }
            return channel;
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (state.getAndSet(CONNECTED) == TIMED_OUT) { // the connect failed because the timer closed it
                throw timedOut(path, timeout);
            }
            throw e;
        } finally {
            if (timer != null) {
                timer.cancel(false);
            }
        }
    }

    /**
     * No time to wait: one non-blocking connect, which a unix listener with room in its backlog
     * takes at once and a full one refuses at once (EAGAIN). A timer of zero would race the connect
     * and could close the channel of a listener that had taken it.
     */
    private static SocketChannel connectNow(Path path, Duration timeout) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.configureBlocking(false);
            if (!channel.connect(UnixDomainSocketAddress.of(path))) {
                throw timedOut(path, timeout); // unix connects do not pend; were one to, it did not make it now
            }
            channel.configureBlocking(true);
            return channel;
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            // The JDK reports EAGAIN only by its message: the backlog is full, as a timeout would find it.
            if (!(e instanceof TimedOut) && String.valueOf(e.getMessage()).contains("temporarily unavailable")) {
                throw timedOut(path, timeout);
            }
            throw e;
        }
    }

    /** The connect was given up at its deadline: its message is whole as it is (it names the path). */
    public static final class TimedOut extends IOException {
        TimedOut(String message) {
            super(message);
        }
    }

    private static IOException timedOut(Path path, Duration timeout) {
        return new TimedOut(path + " accepted no connection within " + timeout.toMillis() + " ms (its listener"
                + " takes none and its backlog is full: is the agent, relay or VMM behind it stopped?)");
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing more to do with it
        }
    }
}
