package io.agentd.client.cli;

import io.agentd.client.AgentClient;
import io.agentd.client.cli.cp.Cp;
import io.agentd.client.cli.cp.CpOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;

/**
 * agentctl cp: the command line to {@link Cp}; a lost connection, or an agent that stopped
 * answering, to exit status 125 (nothing more could be copied).
 */
final class CpCommand {
    private CpCommand() {}

    static int run(List<String> args, Connector connector, InputStream in, OutputStream out,
                   PrintStream err) throws UsageException, Agentctl.Unavailable {
        CpOptions options;
        try {
            options = CpOptions.parse(args);
        } catch (CpOptions.Invalid e) {
            throw new UsageException(e.getMessage());
        }
        try (AgentClient client = connector.connect()) {
            return new Cp(options, in, out, err).run(client);
        } catch (IOException e) {
            throw new Agentctl.Unavailable("cp: " + e.getMessage());
        }
    }
}
