package io.agentd.client.cli;

import io.agentd.client.relay.Relay;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * {@code agentctl relay --port PORT_SOCKET --listen SOCKET [--port-wait DURATION] [--ready-warning
 * DURATION] [--qmp QMP_SOCKET]}: runs a {@link Relay} until the VM's port goes away or the relay itself
 * fails (exit 1, one line saying why: every client closed, the socket removed) or the
 * process is stopped (SIGTERM/SIGINT: the clients are closed and the socket removed). One line on
 * stderr when the agent has sent no core.ready by --ready-warning: QEMU's chardev takes one
 * connection at a time and leaves the next in its backlog, connected, so a second relay on a port
 * would otherwise wait in silence. With --qmp (QEMU's {@code -qmp unix:PATH}), the relay also hears
 * from QEMU when the guest closes the agent's port, and so survives an agent that dies mid-frame
 * ({@link Relay#start(Path, Path, Duration, Path)}).
 */
final class RelayCommand {
    /**
     * The relay's own logger: its lines read "Relay - relay: ...", as the loop's do, and carry the
     * time as they do (the launcher's showDateTime). Every line the relay writes goes through it,
     * this command's too (the agent not ready yet, why the relay ended): they were printed bare.
     */
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    static final int EXIT_PORT_LOST = 1;

    /** A TCG guest on a loaded machine may take tens of seconds to its agent's ready. */
    static final Duration DEFAULT_READY_WARNING = Duration.ofSeconds(60);

    private final Path port;
    private final Path listen;
    private final Duration portWait;
    private final Duration readyWarning;
    private final Path qmp;

    private RelayCommand(Path port, Path listen, Duration portWait, Duration readyWarning, Path qmp) {
        this.port = port;
        this.listen = listen;
        this.portWait = portWait;
        this.readyWarning = readyWarning;
        this.qmp = qmp;
    }

    static RelayCommand parse(List<String> args) throws UsageException {
        Path port = null;
        Path listen = null;
        Duration portWait = Relay.DEFAULT_PORT_WAIT;
        Duration readyWarning = DEFAULT_READY_WARNING;
        Path qmp = null;
        for (int i = 0; i < args.size(); ) {
            OptionArg opt = OptionArg.split(args.get(i), args, i);
            switch (opt.name()) {
                case "--port" -> port = Path.of(opt.value());
                case "--listen" -> listen = Path.of(opt.value());
                case "--port-wait" -> portWait = Durations.parse("--port-wait", opt.value());
                case "--ready-warning" -> readyWarning = Durations.parse("--ready-warning", opt.value());
                case "--qmp" -> qmp = Path.of(opt.value());
                default -> throw new UsageException("relay: unknown argument " + args.get(i));
            }
            i += opt.consumed();
        }
        if (port == null || listen == null) {
            throw new UsageException("relay needs --port PORT_SOCKET and --listen SOCKET");
        }
        return new RelayCommand(port, listen, portWait, readyWarning, qmp);
    }

    int run() throws Agentctl.Unavailable {
        // The hook is in place before the socket is: a SIGTERM right after it appears still removes
        // it (a socket left behind all the same is stale, and the next relay replaces it).
        AtomicReference<Relay> running = new AtomicReference<>();
        stopOnSignals(running);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Relay r = running.get();
            if (r != null) {
                try {
                    r.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "agentctl-relay-stop"));
        Relay relay;
        try {
            relay = Relay.start(port, listen, portWait, qmp);
            running.set(relay);
        } catch (IOException e) {
            throw new Agentctl.Unavailable("relay: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Agentctl.Unavailable("relay: interrupted while connecting to " + port);
        }
        try {
            warnIfNoReady(relay);
            Relay.Ending end;
            do {
                end = relay.awaitEnd(Duration.ofDays(1));
            } while (end == null);
            if (end.portLost() || end.failed()) {
                log.error("relay: {}; every client was closed", end.reason());
                return EXIT_PORT_LOST;
            }
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /**
     * SIGTERM and SIGINT stop a running relay, and agentctl then exits 0 as its --help says: left to
     * the JVM, a signal's shutdown ends the process with 128+N (143 for SIGTERM) whatever main
     * returns, which a service manager counts as a failure. Before the relay runs (the wait for the
     * port), a signal ends the process as the JVM would.
     */
    private static void stopOnSignals(AtomicReference<Relay> running) {
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), sig -> {
                Relay relay = running.get();
                if (relay == null) {
                    System.exit(128 + sig.getNumber());
                    return;
                }
                log.info("relay: stopping on SIG{} ({} client(s) connected)", sig.getName(), relay.clientCount());
                // Not on the signal's thread: the close waits for the relay's loop to end.
                Thread stop = new Thread(() -> {
                    try {
                        relay.close(); // the main thread's wait then ends, and it returns 0
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "agentctl-relay-stop");
                stop.setDaemon(true);
                stop.start();
            });
        }
    }

    private void warnIfNoReady(Relay relay) throws InterruptedException {
        try {
            relay.awaitAgentReady(readyWarning);
        } catch (TimeoutException e) {
            log.warn("relay: no core.ready from the agent on {} within {}: the VM may still be starting, or another"
                    + " client (a second relay?) holds its port: QEMU serves one connection at a time and leaves the"
                    + " next unanswered. Still waiting.", port, shown(readyWarning));
        } catch (IOException endedFirst) {
            // the relay ended first: the caller reports how
        }
    }

    private static String shown(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
