package io.agentd.client.relay;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches QEMU's QMP socket, on a thread of its own, for two things the port's byte stream never
 * says: that the guest closed the agent's port (the agent died, maybe in the middle of a frame), and
 * that QEMU resumed the VM, whose clock stood still while it was stopped. QEMU reports the first as
 * the event {@code VSERPORT_CHANGE {"id": DEVICE_ID, "open": false}}, for a virtserialport that has
 * an {@code id=}; scripts/guest/boot and the testkit give the agent's {@value #PORT_DEVICE_ID}; the
 * second as {@code RESUME} (after {@code cont}, a snapshot's load, an incoming migration). It reads
 * the greeting, sends {@code qmp_capabilities}, then reads the newline-delimited JSON messages and
 * passes those events on (see {@link RelayLoop#guestClosedPort} and {@link RelayLoop#vmResumed}).
 * A QMP socket that cannot be reached, or that closes: one log line, and the relay goes on without
 * (a warning, except after QEMU's SHUTDOWN event: then the close is the VM's end, not a fault).
 */
final class QmpPortWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** The {@code id=} of the agent's virtserialport device, as scripts/guest/boot and the testkit name it. */
    static final String PORT_DEVICE_ID = "agent-port";
    /** QEMU's event as the guest powers off or QEMU is told to quit, sent before it closes QMP. */
    static final String SHUTDOWN_EVENT = "SHUTDOWN";
    /** QEMU's event as the VM runs again after it was stopped. */
    static final String RESUME_EVENT = "RESUME";
    private static final JsonFactory JSON = new JsonFactory();
    private static final long CONNECT_TRIES = 20;
    private static final long CONNECT_RETRY_MILLIS = 50;

    private final Path socket;
    private final String deviceId;
    /** Takes the close's time by QEMU's stamp ({@link QemuClock}), or {@link QemuClock#UNKNOWN}. */
    private final LongConsumer onGuestClosed;
    private final Runnable onResumed;
    private final Thread thread;
    private volatile SocketChannel channel;
    private volatile boolean closed;

    private QmpPortWatch(Path socket, String deviceId, LongConsumer onGuestClosed, Runnable onResumed) {
        this.socket = socket;
        this.deviceId = deviceId;
        this.onGuestClosed = onGuestClosed;
        this.onResumed = onResumed;
        this.thread = new Thread(this::run, "agentd-relay-qmp " + socket.getFileName());
        this.thread.setDaemon(true);
    }

    /**
     * Starts watching {@code socket} for the port {@code deviceId}; {@code onGuestClosed} runs on the
     * watch's thread with the time QEMU stamped the event with: the relay needs it to tell a close
     * that comes after the next agent's core.ready from one that comes before (see
     * {@link RelayLoop#guestClosedPort}). {@code onResumed} runs on the watch's thread at each RESUME.
     */
    static QmpPortWatch start(Path socket, String deviceId, LongConsumer onGuestClosed, Runnable onResumed) {
        QmpPortWatch watch = new QmpPortWatch(socket, deviceId, onGuestClosed, onResumed);
        watch.thread.start();
        return watch;
    }

    private void run() {
        try {
            channel = connect();
        } catch (IOException e) {
            if (!closed) {
                log.warn("relay: no QMP connection at {} ({}); going on without it: an agent that dies in the middle"
                        + " of a frame will not be noticed, nor QEMU resuming the VM (its clock then not synced)", socket,
                        e.getMessage());
            }
            return;
        } catch (InterruptedException e) {
            return;
        }
        if (closed) {
            closeChannel();
            return;
        }
        String ended;
        boolean shuttingDown = false;
        try (InputStream in = Channels.newInputStream(channel); JsonParser json = JSON.createParser(in)) {
            Message greeting = next(json);
            if (greeting == null || !greeting.greeting) {
                throw new IOException("no QMP greeting");
            }
            write("{\"execute\":\"qmp_capabilities\"}\n");
            log.info("relay: watching QMP {} for the guest closing the port {} and the VM resuming", socket, deviceId);
            Message m;
            while ((m = next(json)) != null) {
                if (SHUTDOWN_EVENT.equals(m.event)) {
                    shuttingDown = true;
                } else if (RESUME_EVENT.equals(m.event)) {
                    onResumed.run();
                } else if ("VSERPORT_CHANGE".equals(m.event) && deviceId.equals(m.id) && m.open != null) {
                    if (m.open) {
                        log.info("relay: the guest opened its port {} (an agent is up)", deviceId);
                    } else {
                        onGuestClosed.accept(m.atMicros);
                    }
                }
            }
            ended = "it closed";
        } catch (IOException | RuntimeException e) {
            ended = e.getMessage() == null ? e.toString() : e.getMessage();
        } finally {
            closeChannel();
        }
        if (closed) {
            return;
        }
        if (shuttingDown) {
            // the VM's own end (a poweroff, a quit): QEMU closes QMP as it goes, nothing was lost
            log.info("relay: QEMU announced its shutdown; the QMP connection {} ended ({})", socket, ended);
        } else {
            log.warn("relay: the QMP connection {} ended ({}); going on without it: an agent that dies in the middle"
                    + " of a frame will not be noticed, nor QEMU resuming the VM (its clock then not synced)", socket, ended);
        }
    }

    /** QEMU creates the QMP socket with the port's: a few short tries cover one not listening yet. */
    private SocketChannel connect() throws IOException, InterruptedException {
        IOException last = null;
        for (int i = 0; i < CONNECT_TRIES && !closed; i++) {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                return c;
            } catch (IOException e) {
                c.close();
                last = e;
            }
            Thread.sleep(CONNECT_RETRY_MILLIS);
        }
        throw last != null ? last : new IOException("closed");
    }

    private void write(String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** A QMP message, as much of it as the watch uses; {@code atMicros} is its timestamp, or {@link QemuClock#UNKNOWN}. */
    private record Message(boolean greeting, String event, String id, Boolean open, long atMicros) {}

    /** The next message, or null at the end of the stream. Anything but an object is skipped. */
    private static Message next(JsonParser json) throws IOException {
        while (true) {
            JsonToken t = json.nextToken();
            if (t == null) {
                return null;
            }
            if (t != JsonToken.START_OBJECT) {
                json.skipChildren();
                continue;
            }
            boolean greeting = false;
            String event = null;
            String id = null;
            Boolean open = null;
            long seconds = -1;
            long micros = -1;
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String name = json.currentName();
                JsonToken value = json.nextToken();
                if (name.equals("QMP")) {
                    greeting = true;
                } else if (name.equals("event") && value == JsonToken.VALUE_STRING) {
                    event = json.getText();
                } else if (name.equals("data") && value == JsonToken.START_OBJECT) {
                    while (json.nextToken() == JsonToken.FIELD_NAME) {
                        String field = json.currentName();
                        JsonToken v = json.nextToken();
                        if (field.equals("id") && v == JsonToken.VALUE_STRING) {
                            id = json.getText();
                        } else if (field.equals("open") && v.isBoolean()) {
                            open = v == JsonToken.VALUE_TRUE;
                        } else {
                            json.skipChildren();
                        }
                    }
                    continue;
                } else if (name.equals("timestamp") && value == JsonToken.START_OBJECT) {
                    // {"seconds": S, "microseconds": US}: when QEMU emitted the event, not when it sent it
                    while (json.nextToken() == JsonToken.FIELD_NAME) {
                        String field = json.currentName();
                        JsonToken v = json.nextToken();
                        if (field.equals("seconds") && v == JsonToken.VALUE_NUMBER_INT) {
                            seconds = json.getLongValue();
                        } else if (field.equals("microseconds") && v == JsonToken.VALUE_NUMBER_INT) {
                            micros = json.getLongValue();
                        } else {
                            json.skipChildren();
                        }
                    }
                    continue;
                }
                json.skipChildren();
            }
            long at = seconds >= 0 && micros >= 0 ? seconds * 1_000_000 + micros : QemuClock.UNKNOWN;
            return new Message(greeting, event, id, open, at);
        }
    }

    private void closeChannel() {
        SocketChannel c = channel;
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                log.debug("relay: closing the QMP connection", e);
            }
        }
    }

    /** Stops watching: the connection is closed, which ends the thread's read. */
    @Override
    public void close() {
        closed = true;
        closeChannel();
        thread.interrupt();
    }
}
