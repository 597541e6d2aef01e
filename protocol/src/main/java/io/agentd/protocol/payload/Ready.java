package io.agentd.protocol.payload;

import java.util.List;

/**
 * core.ready: times in ns (boot = since kernel boot, CLOCK_BOOTTIME), agent_version omitted if empty.
 *
 * @param features extension: the optional features this agent supports (docs/PROTOCOL-EXTENSIONS.md,
 *                 e.g. {@link #FEATURE_STDIN_WINDOW}); omitted from the encoding when empty, read
 *                 as empty when absent (an agent that predates them).
 * @param graceMs  extension {@code grace_ms}: the agent's SIGTERM-to-SIGKILL grace for a request's
 *                 timeout_ms (its --grace-ms), a u64; null when the agent does not say (omitted)
 * @param drainMs  extension {@code drain_ms}: how long the agent reads output still held open after a
 *                 session's leader exits before it sends exited (its --drain-ms), a u64; null when
 *                 the agent does not say (omitted). With {@code graceMs} a host knows when a timed
 *                 out session's exited is owed.
 */
public record Ready(long bootTimeNs, long initTimeNs, long readyTimeNs, String agentVersion, List<String> features,
        Long graceMs, Long drainMs) implements Payload {

    /** The agent grants stdin credit (core.exec.stdin.credit) to requests that ask for it. */
    public static final String FEATURE_STDIN_WINDOW = "stdin_window";
    /** The agent takes the exec.request field {@code profile} (a stricter profile per command). */
    public static final String FEATURE_PROFILE = "profile";
    /**
     * The agent takes the fs extension fields (request {@code user} and {@code extended}, Write
     * {@code window}, OpenFile {@code atomic}) and grants core.fs.credit (docs/PROTOCOL-EXTENSIONS.md).
     */
    public static final String FEATURE_FS_EXT = "fs_ext";
    /**
     * The agent takes exec.request's {@code detachable} and the messages core.session.list and
     * core.session.attach (docs/PROTOCOL-EXTENSIONS.md, "Sessions").
     */
    public static final String FEATURE_SESSIONS = "sessions";
    /**
     * The agent takes core.relay.client.paused / resumed and holds a relay client's output while it
     * does not read (docs/PROTOCOL-EXTENSIONS.md, "Relay flow control").
     */
    public static final String FEATURE_RELAY_FLOW = "relay_flow";
    /**
     * The agent takes core.session.detach: a host leaves one session running without leaving the
     * agent (docs/PROTOCOL-EXTENSIONS.md, "Sessions").
     */
    public static final String FEATURE_SESSION_DETACH = "session_detach";
    /**
     * The agent takes core.relay.exit.dropped: a relay that dropped a session's exit for a client
     * that had left gets it held again for an attach (docs/PROTOCOL-EXTENSIONS.md).
     */
    public static final String FEATURE_RELAY_EXIT_DROPPED = "relay_exit_dropped";

    /**
     * Most features a ready may list: the decoder refuses more (invalid_payload). Agents list a
     * handful; the bound keeps a hostile agent's one frame from costing a host's client far more
     * memory than the frame's size.
     */
    public static final int FEATURES_MAX_ENTRIES = 256;

    public Ready {
        features = features == null ? List.of() : List.copyOf(features);
    }

    /** A ready that does not say its grace and drain (what an agent before them sends). */
    public Ready(long bootTimeNs, long initTimeNs, long readyTimeNs, String agentVersion, List<String> features) {
        this(bootTimeNs, initTimeNs, readyTimeNs, agentVersion, features, null, null);
    }

    /** A ready without extension features (what an agent of the reference sends). */
    public Ready(long bootTimeNs, long initTimeNs, long readyTimeNs, String agentVersion) {
        this(bootTimeNs, initTimeNs, readyTimeNs, agentVersion, List.of());
    }

    public boolean supports(String feature) {
        return features.contains(feature);
    }
}
