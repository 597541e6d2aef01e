package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentErrorException;
import io.agentd.client.ExecFailedException;
import io.agentd.client.ExecSession;
import io.agentd.client.FeatureNotOfferedException;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * {@code agentctl exec --detach}: starts a detachable session, prints its session number on stdout
 * and exits 0 once the command runs. The request asks {@code start_detached}: the agent detaches the
 * session from this connection right after started, so it keeps the output from the start and the
 * exit for {@code agentctl attach} however soon the command ends. (An agent from before the field
 * ignores it and sends output and exit here, where they are not printed, as before.)
 */
final class DetachCommand {
    private static final Duration START_WAIT = Duration.ofSeconds(30);

    private final ExecOptions options;
    /** The local $TERM, which -t passes on (null: none). */
    private final String localTerm;
    private final PrintStream out;
    private final PrintStream err;

    DetachCommand(ExecOptions options, PrintStream out, PrintStream err) {
        this(options, System.getenv("TERM"), out, err);
    }

    DetachCommand(ExecOptions options, String localTerm, PrintStream out, PrintStream err) {
        this.options = options;
        this.localTerm = localTerm;
        this.out = out;
        this.err = err;
    }

    int run(Connector connector) throws Agentctl.Unavailable {
        try (AgentClient client = connector.connect()) {
            // -t: the PTY gets this terminal's size (the defaults when stdin is no terminal) and its
            // TERM, as exec -t does: it was left to the agent's default whatever the terminal.
            int[] size = options.tty() ? LocalTerminal.sizeOf(LocalTerminal.onStdin()) : null;
            // start_detached: the agent detaches the session from this connection right after started,
            // so a command that ends before agentctl has closed it keeps its output and exit for attach.
            ExecSession session = client.start(options.toRequest(size, LocalTermEnv.of(options.tty(), localTerm))
                    .withStartDetached(true), output -> { });
            session.awaitStarted(START_WAIT);
            out.println(session.sessionNumber());
            out.flush();
            return 0;
        } catch (ExecFailedException | AgentErrorException | FeatureNotOfferedException e) {
            return StartRefusals.report(e, err);
        } catch (IOException e) {
            throw new Agentctl.Unavailable(e.getMessage());
        } catch (TimeoutException e) {
            throw new Agentctl.Unavailable("exec --detach: the command did not start within "
                    + Agentctl.human(START_WAIT));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Agentctl.Unavailable("exec --detach: interrupted");
        }
    }
}
