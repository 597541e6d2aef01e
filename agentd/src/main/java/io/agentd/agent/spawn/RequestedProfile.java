package io.agentd.agent.spawn;

import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;

/**
 * The profile a request runs under: the agent's own unless the request asks for a stricter one (the
 * {@code profile} extension). A request can only tighten: the agent's profile is what its operator
 * chose for every command, and a host that could loosen it would make the option worthless.
 */
public final class RequestedProfile {
    private RequestedProfile() {}

    /** Why a request's profile is refused: the exec.failed to answer it with. */
    public static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        public final transient ExecFailed failed;

        Refused(FailureKind kind, String message) {
            super(message, null, false, false);
            this.failed = ExecFailed.of(kind, null, null, message, null);
        }
    }

    static Profile resolve(Profile agents, String requested) throws Refused {
        if (requested == null) {
            return agents;
        }
        Profile asked = Profile.byName(requested);
        if (asked == null) {
            throw new Refused(FailureKind.BAD_ARGS, "unknown profile " + HostText.quote(requested, HostText.QUOTE_MAX)
                    + " (" + Profile.names() + ")");
        }
        if (!asked.atLeast(agents)) {
            throw new Refused(FailureKind.PERMISSION_DENIED, "profile " + asked.wireName() + " is weaker than the"
                    + " agent's (" + agents.wireName() + "): a request may only ask for a stricter one");
        }
        return asked;
    }
}
