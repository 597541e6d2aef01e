package io.agentd.client.cli;

import io.agentd.client.relay.Relay;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code agentctl relay --port PORT_SOCKET --listen SOCKET [--port-wait DURATION]}: runs a
 * {@link Relay} until the VM's port goes away (exit 1, one line saying why) or the process is
 * stopped (SIGTERM/SIGINT: the clients are closed and the socket removed).
 */
final class RelayCommand {
    static final int EXIT_PORT_LOST = 1;

    private final Path port;
    private final Path listen;
    private final Duration portWait;

    private RelayCommand(Path port, Path listen, Duration portWait) {
        this.port = port;
        this.listen = listen;
        this.portWait = portWait;
    }

    static RelayCommand parse(List<String> args) throws UsageException {
        Path port = null;
        Path listen = null;
        Duration portWait = Relay.DEFAULT_PORT_WAIT;
        for (int i = 0; i < args.size(); ) {
            OptionArg opt = OptionArg.split(args.get(i), args, i);
            switch (opt.name()) {
                case "--port" -> port = Path.of(opt.value());
                case "--listen" -> listen = Path.of(opt.value());
                case "--port-wait" -> portWait = Durations.parse("--port-wait", opt.value());
                default -> throw new UsageException("relay: unknown argument " + args.get(i));
            }
            i += opt.consumed();
        }
        if (port == null || listen == null) {
            throw new UsageException("relay needs --port PORT_SOCKET and --listen SOCKET");
        }
        return new RelayCommand(port, listen, portWait);
    }

    int run(PrintStream err) throws Agentctl.Unavailable {
        // The hook is in place before the socket is: a SIGTERM right after it appears still removes
        // it (a socket left behind all the same is stale, and the next relay replaces it).
        AtomicReference<Relay> running = new AtomicReference<>();
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
            relay = Relay.start(port, listen, portWait);
            running.set(relay);
        } catch (IOException e) {
            throw new Agentctl.Unavailable("relay: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Agentctl.Unavailable("relay: interrupted while connecting to " + port);
        }
        try {
            Relay.Ending end;
            do {
                end = relay.awaitEnd(Duration.ofDays(1));
            } while (end == null);
            if (end.portLost()) {
                err.println("agentctl relay: " + end.reason() + "; every client was closed");
                return EXIT_PORT_LOST;
            }
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }
}
