package io.agentd.client.cli;

import io.agentd.protocol.ByteCount;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Rlimit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The options of {@code agentctl exec}, parsed. Options end at {@code --} or at the first argument
 * that is not an option (the command).
 */
record ExecOptions(
        boolean interactive,
        boolean tty,
        List<String> env,
        String workdir,
        String user,
        List<Rlimit> rlimits,
        Duration timeout,
        String profile,
        Long memoryMax,
        Long pidsMax,
        boolean stats,
        boolean detach,
        String detachKeys,
        boolean sigProxy,
        String cmd,
        List<String> args) {

    /** PROTOCOL.md's rlimit names. */
    static final Set<String> RLIMIT_NAMES = Set.of("cpu", "fsize", "data", "stack", "core", "rss", "nproc",
            "nofile", "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime");

    static ExecOptions parse(List<String> argv) throws UsageException {
        return parse(argv, System::getenv);
    }

    /** @param hostEnv this process's environment, where -e NAME takes its value */
    static ExecOptions parse(List<String> argv, UnaryOperator<String> hostEnv) throws UsageException {
        boolean interactive = false;
        boolean tty = false;
        List<String> env = new ArrayList<>();
        String workdir = null;
        String user = null;
        List<Rlimit> rlimits = new ArrayList<>();
        Duration timeout = null;
        String profile = null;
        Long memoryMax = null;
        Long pidsMax = null;
        boolean stats = false;
        boolean detach = false;
        String detachKeys = DetachKeys.DEFAULT;
        boolean sigProxy = true;
        int i = 0;
        while (i < argv.size()) {
            String arg = argv.get(i);
            if (arg.equals("--")) {
                i++;
                break;
            }
            if (!arg.startsWith("-") || arg.equals("-")) {
                break; // the command
            }
            OptionArg opt = OptionArg.split(arg, argv, i);
            switch (opt.name()) {
                case "-i", "--interactive" -> interactive = opt.flag();
                case "-t", "--tty" -> tty = opt.flag();
                case "-e", "--env" -> addEnv(env, opt.value(), hostEnv);
                case "-w", "--workdir" -> workdir = nonEmpty(opt.name(), opt.value());
                case "-u", "--user" -> user = nonEmpty(opt.name(), opt.value());
                case "--rlimit" -> rlimits.add(rlimit(opt.value()));
                case "--timeout" -> timeout = Durations.parse("--timeout", opt.value());
                case "--profile" -> profile = nonEmpty(opt.name(), opt.value());
                case "--memory" -> memoryMax = bytes("--memory", opt.value());
                case "--pids" -> pidsMax = count("--pids", opt.value());
                case "--stats" -> stats = opt.flag();
                case "-d", "--detach" -> detach = opt.flag();
                case "--detach-keys" -> detachKeys = DetachKeys.checked(opt.value());
                case "--sig-proxy" -> sigProxy = opt.onOff();
                default -> {
                    if (opt.shortCluster() != null) {
                        // -it, -ti, -td: a cluster of flags; a letter that takes a value ends it
                        // (-itu root, -ite K=V), as docker's parser takes them
                        String letters = opt.shortCluster();
                        for (int k = 0; k < letters.length(); k++) {
                            char c = letters.charAt(k);
                            switch (c) {
                                case 'i' -> interactive = true;
                                case 't' -> tty = true;
                                case 'd' -> detach = true;
                                case 'e' -> addEnv(env, opt.clusterValue(k), hostEnv);
                                case 'w' -> workdir = nonEmpty("-w", opt.clusterValue(k));
                                case 'u' -> user = nonEmpty("-u", opt.clusterValue(k));
                                default -> throw new UsageException("exec: unknown flag -" + c + " in " + arg);
                            }
                            if (c == 'e' || c == 'w' || c == 'u') {
                                break; // the value took the rest of the cluster (or the next argument)
                            }
                        }
                    } else {
                        throw new UsageException("exec: unknown option " + arg);
                    }
                }
            }
            i += opt.consumed();
        }
        if (i >= argv.size()) {
            throw new UsageException("exec: no command given");
        }
        // Nothing would read the input or wait for the stats: agentctl exits once the command started.
        if (detach && interactive) {
            throw new UsageException("exec: --detach does not go with -i (agentctl attach -i SESSION gives the"
                    + " command input)");
        }
        if (detach && stats) {
            throw new UsageException("exec: --detach does not go with --stats (agentctl exits once the command"
                    + " started, before there are any)");
        }
        return new ExecOptions(interactive, tty, List.copyOf(env), workdir, user, List.copyOf(rlimits),
                timeout, profile, memoryMax, pidsMax, stats, detach, detachKeys, sigProxy, argv.get(i),
                List.copyOf(argv.subList(i + 1, argv.size())));
    }

    /**
     * The request for a PTY of the local terminal's {@code size} ({rows, cols}), or of the default
     * size when there is none (null: no -t, or stdin is no terminal).
     */
    ExecRequest toRequest(int[] size, List<String> extraEnv) {
        return toRequest(size != null ? size[0] : ExecRequest.DEFAULT_ROWS,
                size != null ? size[1] : ExecRequest.DEFAULT_COLS, extraEnv);
    }

    /** The request for a PTY of {@code rows x cols} (ignored without -t), with {@code extraEnv} below -e. */
    ExecRequest toRequest(int rows, int cols, List<String> extraEnv) {
        List<String> allEnv = new ArrayList<>();
        for (String e : extraEnv) {
            String key = e.substring(0, e.indexOf('=') + 1);
            if (env.stream().noneMatch(mine -> mine.startsWith(key))) {
                allEnv.add(e);
            }
        }
        allEnv.addAll(env);
        Long timeoutMs = timeout == null ? null : Math.max(1, timeout.toMillis());
        return new ExecRequest(cmd, args, allEnv, workdir, user, tty,
                tty ? rows : ExecRequest.DEFAULT_ROWS, tty ? cols : ExecRequest.DEFAULT_COLS, rlimits, timeoutMs)
                .withProfile(profile).withLimits(memoryMax, pidsMax).withDetachable(detach);
    }

    /**
     * A byte count, plain or with a binary suffix (64k, 512m, 2g; also KiB, MiB, GiB) as agentd's
     * own size options take them; the agent and the kernel judge the value, not agentctl.
     */
    private static long bytes(String option, String value) throws UsageException {
        OptionalLong n = ByteCount.parse(value);
        if (n.isEmpty()) {
            throw new UsageException(option + ": not a byte count: '" + value + "' (e.g. 104857600, 512k, 100m, 2g)");
        }
        return n.getAsLong();
    }

    /** A plain count (tasks): the agent and the kernel judge the value, not agentctl. */
    private static long count(String option, String value) throws UsageException {
        try {
            return Long.parseUnsignedLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException(option + ": not a number: '" + value + "'");
        }
    }

    /**
     * -e K=V as given; -e NAME passes this process's NAME, as docker, podman and kubectl take it,
     * and where there is none sets nothing (docker's way): NAME is then unset in CMD, not empty.
     */
    private static void addEnv(List<String> env, String value, UnaryOperator<String> hostEnv) throws UsageException {
        int eq = value.indexOf('=');
        if (eq > 0) {
            env.add(value);
            return;
        }
        if (value.isEmpty() || eq == 0) {
            throw new UsageException("-e: expected K=V or NAME, got '" + value + "'");
        }
        String hostValue = hostEnv.apply(value);
        String unreadable = hostValue == null ? null : ArgumentBytes.envValueUnreadable(value, hostValue);
        if (unreadable != null) {
            throw new UsageException(unreadable);
        }
        if (hostValue != null) {
            env.add(value + "=" + hostValue);
        }
    }

    private static String nonEmpty(String option, String value) throws UsageException {
        if (value.isEmpty()) {
            throw new UsageException(option + ": empty value");
        }
        return value;
    }

    /** NAME=SOFT[:HARD]; a value is a number or "unlimited"; HARD defaults to SOFT. */
    static Rlimit rlimit(String spec) throws UsageException {
        int eq = spec.indexOf('=');
        if (eq <= 0) {
            throw new UsageException("--rlimit: expected NAME=SOFT[:HARD], got '" + spec + "'");
        }
        String name = spec.substring(0, eq).toLowerCase(java.util.Locale.ROOT);
        if (!RLIMIT_NAMES.contains(name)) {
            throw new UsageException("--rlimit: unknown limit '" + name + "' (one of "
                    + String.join(" ", new java.util.TreeSet<>(RLIMIT_NAMES)) + ")");
        }
        String[] values = spec.substring(eq + 1).split(":", -1);
        if (values.length > 2) {
            throw new UsageException("--rlimit: expected NAME=SOFT[:HARD], got '" + spec + "'");
        }
        long soft = limitValue(spec, values[0]);
        long hard = values.length == 2 ? limitValue(spec, values[1]) : soft;
        return new Rlimit(name, soft, hard);
    }

    private static long limitValue(String spec, String v) throws UsageException {
        if (v.equals("unlimited") || v.equals("infinity")) {
            return Rlimit.INFINITY;
        }
        try {
            return Long.parseUnsignedLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--rlimit: not a limit value: '" + v + "' in '" + spec
                    + "' (a number or unlimited)");
        }
    }
}
