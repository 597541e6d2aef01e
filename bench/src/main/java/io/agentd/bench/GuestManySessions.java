package io.agentd.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * Issue 17's many-sessions run against an agent that is already serving on a socket, such as a
 * guest's relay (scripts/guest/many-sessions boots the guest and runs this): the host here may not
 * give its own agent the open files 10,000 sessions need, the guest's init does. The checked ping is
 * {@link GuestPinger}'s, from inside the guest through a unix socket the agent serves there (the
 * script boots it with agentd.listen=unix:/run/agentd/agentd.sock; vsock refuses peers on the guest
 * itself).
 *
 * <pre>GuestManySessions SOCKET [SESSIONS]</pre>
 * Prints the figures as scripts/bench does; exits 1 when the run could not be made.
 */
public final class GuestManySessions {
    /** The guest agent's unix socket, as a process in the guest reaches it (scripts/guest/many-sessions asks for it). */
    private static final String GUEST_SOCKET = "/run/agentd/agentd.sock";

    private GuestManySessions() {}

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        int sessions = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        List<Figure> figures;
        try (AgentLink agent = AgentLink.connect(socket)) {
            GuestPinger pinger = GuestPinger.launch(agent, GUEST_SOCKET);
            figures = ManySessionsBench.run(sessions, new GuestAgentProbe(agent, 1), agent, pinger,
                    "from inside the guest over its unix socket");
        }
        System.out.print(ResultTable.text(figures));
    }
}
