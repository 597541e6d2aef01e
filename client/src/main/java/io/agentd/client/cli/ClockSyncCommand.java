package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentErrorException;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * {@code agentctl clock-sync [--timeout DURATION]}: sets the guest's clock to this host's
 * ({@link AgentClient#syncClock}: core.clock.sync, then a ping whose pong says the agent took it) and
 * prints one line. For a guest whose clock fell behind while its VM was paused or its host suspended,
 * where no relay with QMP did it (a relay started with {@code --qmp} syncs at QEMU's RESUME and after
 * each core.ready by itself). 126 when a relay in front refused it; 125 when there is no agent to
 * talk to or it did not answer within the timeout.
 */
final class ClockSyncCommand {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private ClockSyncCommand() {}

    static Duration parse(List<String> rest) throws UsageException {
        Duration timeout = DEFAULT_TIMEOUT;
        for (int i = 0; i < rest.size(); ) {
            OptionArg opt = OptionArg.split(rest.get(i), rest, i);
            if (!opt.name().equals("--timeout")) {
                throw new UsageException("clock-sync: unknown argument " + rest.get(i));
            }
            timeout = Durations.parse("--timeout", opt.value());
            i += opt.consumed();
        }
        return timeout;
    }

    static int run(Duration timeout, Connector connector, String address, PrintStream out,
            PrintStream err) throws Agentctl.Unavailable {
        try (AgentClient client = connector.connect()) {
            Duration rtt = client.syncClock(timeout);
            out.printf(Locale.ROOT, "clock-sync: the agent at %s took this host's time (round trip %.3f ms)%n", address,
                    rtt.toNanos() / 1e6);
            return 0;
        } catch (AgentErrorException e) {
            err.println("agentctl: clock-sync: " + ControlChars.fromAgent(e.getMessage()));
            return Agentctl.EXIT_CANNOT_RUN;
        } catch (IOException | TimeoutException e) {
            throw new Agentctl.Unavailable("clock-sync: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Agentctl.Unavailable("clock-sync: interrupted");
        }
    }
}
