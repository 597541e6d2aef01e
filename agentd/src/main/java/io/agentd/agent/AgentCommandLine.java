package io.agentd.agent;

import io.agentd.agent.AgentOptions.UsageException;
import io.agentd.agent.session.SessionDefaults;
import io.agentd.agent.session.cgroup.SessionsMemoryMax;
import io.agentd.agent.session.retain.RetentionLimits;
import io.agentd.agent.spawn.OomScoreAdj;
import io.agentd.agent.spawn.Profile;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.SocketAccess;
import io.agentd.agent.transport.UnixSocketServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * agentd's command line read into {@link AgentOptions}: its words taken as options and their values
 * ("--name value" or "--name=value", each once unless repeatable), each value checked for its option
 * ({@link OptionValues} for the kinds several share), then the options that go together checked and
 * the defaults applied. Static.
 */
final class AgentCommandLine {
    private static final long DEFAULT_DRAIN_MILLIS = 250;
    private static final long DEFAULT_GRACE_MILLIS = 2000;
    private static final long DEFAULT_HIGH_WATER = 1L << 20;
    private static final long DEFAULT_STDIN_LIMIT = 16L << 20;
    private static final long DEFAULT_STDIN_TOTAL = 64L << 20;
    private static final long DEFAULT_STALL_WARN_MILLIS = 5000;
    private static final long DEFAULT_FRAME_TIMEOUT_SECONDS = 10;
    private static final Path DEFAULT_STATE_DIR = Path.of("/run/agentd");
    private static final List<String> OPTIONS = List.of("--port-name", "--port", "--listen", "--max-connections",
            "--frame-timeout", "--socket-mode",
            "--socket-group", "--allow-uid", "--user", "--cwd",
            "--env", "--profile", "--drain-ms", "--grace-ms", "--high-water", "--stdin-limit", "--stdin-total",
            "--stdin-window", "--stall-warn-ms", "--log-file", "--log-level", "--state-dir", "--on-host-loss", "--vsock-local",
            "--cgroup-root", "--sessions-memory-max", "--session-buffer", "--session-buffer-total", "--retain-exited", "--oom-score-adj");
    /** The options that may be given more than once; each of the others takes one value, and a second is refused. */
    private static final Set<String> REPEATABLE = Set.of("--listen", "--env", "--allow-uid");
    private static final List<String> LEVELS = List.of("error", "warn", "info", "debug", "trace");

    private AgentCommandLine() {
    }

    /** {@link AgentOptions#parse}: every word read, then the options that go together checked and the defaults applied. */
    static AgentOptions parse(String... args) throws UsageException {
        String portName = null;
        Path port = null;
        List<ListenAddress> listen = new ArrayList<>();
        int maxConnections = Agent.DEFAULT_MAX_CONNECTIONS;
        String user = null;
        String cwd = null;
        List<String> env = new ArrayList<>();
        Profile profile = Profile.DEFAULT;
        Integer socketMode = null;
        String socketGroup = null;
        List<Integer> allowUids = new ArrayList<>();
        long drain = DEFAULT_DRAIN_MILLIS;
        long grace = DEFAULT_GRACE_MILLIS;
        long highWater = DEFAULT_HIGH_WATER;
        long stdinLimit = DEFAULT_STDIN_LIMIT;
        long stdinTotal = DEFAULT_STDIN_TOTAL;
        Long stdinWindow = null;
        long stallWarn = DEFAULT_STALL_WARN_MILLIS;
        long frameTimeoutMillis = DEFAULT_FRAME_TIMEOUT_SECONDS * 1000;
        Path logFile = null;
        String logLevel = "info";
        Path stateDir = DEFAULT_STATE_DIR;
        HostLossPolicy hostLoss = null;
        boolean serveLocalVsock = false;
        String cgroupRoot = null;
        SessionsMemoryMax sessionsMemoryMax = SessionsMemoryMax.AUTO;
        long sessionBuffer = RetentionLimits.DEFAULT_SESSION_BUFFER;
        long sessionBufferTotal = RetentionLimits.DEFAULT_TOTAL_BUFFER;
        long retainExitedMillis = RetentionLimits.DEFAULT_RETAIN_EXITED_MILLIS;
        Integer oomScoreAdj = OomScoreAdj.AGENT_DEFAULT;
        boolean help = false;
        Map<String, String> given = new HashMap<>();

        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            if (name.equals("-h") || name.equals("--help")) {
                help = true;
                continue;
            }
            if (!name.startsWith("--")) {
                throw new UsageException("unexpected argument '" + arg + "'");
            }
            if (!OPTIONS.contains(name)) {
                throw new UsageException("unknown option " + name);
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(name + " needs a value");
                }
                value = args[++i];
            }
            String earlier = REPEATABLE.contains(name) ? null : given.putIfAbsent(name, value);
            if (earlier != null) {
                // last-wins would let a later word (init's kernel arguments, a wrapper's defaults) quietly undo an earlier one
                throw new UsageException(name + " is given twice ('" + earlier + "' and '" + value
                        + "'); it takes one value");
            }
            switch (name) {
                case "--port-name" -> portName = OptionValues.nonEmpty(name, value);
                case "--port" -> port = Path.of(OptionValues.nonEmpty(name, value));
                case "--listen" -> {
                    ListenAddress address = ListenAddress.parse(value);
                    if (address == null) {
                        throw new UsageException("--listen takes unix:PATH or vsock:PORT (0 to "
                                + ListenAddress.VSOCK_PORT_MAX + "), not '" + value + "'");
                    }
                    if (address instanceof ListenAddress.Unix unix && unix.path().getFileName() == null) {
                        throw new UsageException("--listen " + value + " names a directory, no socket file");
                    }
                    if (listen.stream().anyMatch(listed -> sameAddress(listed, address))) {
                        throw new UsageException("--listen " + value + " is given twice");
                    }
                    if (address instanceof ListenAddress.Unix unix
                            && UnixSocketServer.addressBytes(unix.path()) >= UnixSocketServer.SUN_PATH_MAX) {
                        // fixed by the command line: a refusal of its options (exit 2), not a failed start that
                        // init would retry for ever
                        throw new UsageException("--listen " + value + ": socket path too long ("
                                + UnixSocketServer.addressBytes(unix.path()) + " bytes, max "
                                + (UnixSocketServer.SUN_PATH_MAX - 1) + ")");
                    }
                    listen.add(address);
                }
                case "--max-connections" -> maxConnections = OptionValues.positiveInt(name, value);
                case "--frame-timeout" -> frameTimeoutMillis = OptionValues.seconds(name, value) * 1000;
                case "--user" -> user = OptionValues.nonEmpty(name, value);
                case "--cwd" -> {
                    if (!value.startsWith("/")) {
                        throw new UsageException("--cwd must be an absolute path, not '" + value + "'");
                    }
                    cwd = value;
                }
                case "--env" -> {
                    if (value.indexOf('=') <= 0) {
                        throw new UsageException("--env takes K=V, not '" + value + "'");
                    }
                    env.add(value);
                }
                case "--socket-mode" -> socketMode = OptionValues.mode(name, value);
                case "--socket-group" -> socketGroup = OptionValues.nonEmpty(name, value);
                case "--allow-uid" -> allowUids.add(OptionValues.uid(name, value));
                case "--profile" -> {
                    profile = Profile.byName(value);
                    if (profile == null) {
                        throw new UsageException("--profile is " + Profile.names() + ", not '" + value + "'");
                    }
                }
                case "--drain-ms" -> drain = OptionValues.millis(name, value);
                case "--grace-ms" -> grace = OptionValues.millis(name, value);
                case "--high-water" -> highWater = OptionValues.positiveBytes(name, value);
                case "--stdin-limit" -> stdinLimit = OptionValues.positiveBytes(name, value);
                case "--stdin-total" -> stdinTotal = OptionValues.positiveBytes(name, value);
                case "--stdin-window" -> stdinWindow = OptionValues.positiveBytes(name, value);
                case "--stall-warn-ms" -> stallWarn = OptionValues.millis(name, value);
                case "--log-file" -> logFile = Path.of(OptionValues.nonEmpty(name, value));
                case "--log-level" -> {
                    logLevel = value.toLowerCase(Locale.ROOT);
                    if (!LEVELS.contains(logLevel)) {
                        throw new UsageException("--log-level is one of " + String.join(", ", LEVELS)
                                + ", not '" + value + "'");
                    }
                }
                // Normalized: at "DIR/." the open's refusal of a link would look at "." and follow DIR.
                case "--state-dir" -> {
                    Path normal = Path.of(OptionValues.nonEmpty(name, value)).normalize();
                    stateDir = normal.toString().isEmpty() ? Path.of(".") : normal;
                }
                case "--on-host-loss" -> {
                    hostLoss = HostLossPolicy.fromOption(value);
                    if (hostLoss == null) {
                        throw new UsageException("--on-host-loss is kill or keep, not '" + value + "'");
                    }
                }
                case "--vsock-local" -> {
                    if (!value.equals("refuse") && !value.equals("serve")) {
                        throw new UsageException("--vsock-local is refuse or serve, not '" + value + "'");
                    }
                    serveLocalVsock = value.equals("serve");
                }
                case "--cgroup-root" -> cgroupRoot = OptionValues.nonEmpty(name, value);
                case "--sessions-memory-max" -> {
                    sessionsMemoryMax = SessionsMemoryMax.parse(value);
                    if (sessionsMemoryMax == null) {
                        throw new UsageException(name + " takes a byte count > 0 (e.g. 268435456, 256m, 1g), a share"
                                + " of the memory (1% to 100%) or none, not '" + value + "'");
                    }
                }
                case "--session-buffer" -> sessionBuffer = OptionValues.positiveBytes(name, value);
                case "--session-buffer-total" -> sessionBufferTotal = OptionValues.positiveBytes(name, value);
                case "--retain-exited" -> retainExitedMillis = OptionValues.seconds(name, value) * 1000;
                case "--oom-score-adj" -> oomScoreAdj = value.equals("keep") ? null
                        : OptionValues.oomScoreAdj(name, value);
                default -> throw new IllegalStateException("option " + name + " listed but not handled");
            }
        }
        if (portName != null && port != null) {
            throw new UsageException("--port-name names a virtio port; it does not go with --port");
        }
        if (stdinWindow != null && stdinWindow > stdinLimit) {
            throw new UsageException("--stdin-window (" + stdinWindow + ") must not exceed --stdin-limit ("
                    + stdinLimit + "): a host within its credit must never be refused");
        }
        if (listen.stream().noneMatch(a -> a instanceof ListenAddress.Unix)
                && (socketMode != null || socketGroup != null || !allowUids.isEmpty())) {
            throw new UsageException("--socket-mode, --socket-group and --allow-uid go with --listen unix:PATH");
        }
        if (given.containsKey("--vsock-local") && listen.stream().noneMatch(a -> a instanceof ListenAddress.Vsock)) {
            throw new UsageException("--vsock-local goes with --listen vsock:PORT");
        }
        RetentionLimits retention;
        try {
            retention = new RetentionLimits(sessionBuffer, sessionBufferTotal, retainExitedMillis);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        int mode = socketMode != null ? socketMode : socketGroup != null ? 0660 : SocketAccess.DEFAULT_MODE;
        long window = stdinWindow != null ? stdinWindow : Math.min(SessionDefaults.DEFAULT_STDIN_WINDOW, stdinLimit);
        if (portName == null && port == null && listen.isEmpty()) {
            portName = "agent";
        }
        return new AgentOptions(portName, port, List.copyOf(listen), new SocketAccess(mode, socketGroup, allowUids),
                serveLocalVsock, maxConnections,
                new SessionDefaults(user, cwd, env, profile, drain, grace, stdinLimit, stdinTotal, window),
                highWater, stallWarn, frameTimeoutMillis, logFile, logLevel, stateDir, hostLoss, cgroupRoot, sessionsMemoryMax,
                retention,
                oomScoreAdj, help);
    }

    /**
     * Whether two addresses name the same socket: a unix path as it resolves (x.sock and ./x.sock
     * are one, which the second's start then found locked by "another agent").
     */
    private static boolean sameAddress(ListenAddress a, ListenAddress b) {
        if (a instanceof ListenAddress.Unix ua && b instanceof ListenAddress.Unix ub) {
            return ua.path().toAbsolutePath().normalize().equals(ub.path().toAbsolutePath().normalize());
        }
        return a.equals(b);
    }
}
