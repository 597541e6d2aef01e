package io.agentd.agent.spawn;

import io.agentd.agent.LogText;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import io.agentd.protocol.payload.Rlimit;
import java.util.List;
import java.util.Set;

/**
 * Checks a spec before anything is allocated or started, so a bad request is answered with a
 * clear core.exec.failed naming the field instead of being dropped or failing half-way.
 */
final class SpecValidation {
    /** The stage of every validation failure. */
    static final String STAGE = "validate";

    /** rlimit names of PROTOCOL.md; ShimSpec maps each to its RLIMIT_ constant. */
    static final Set<String> RLIMIT_NAMES = Set.of("cpu", "fsize", "data", "stack", "core", "rss", "nproc",
            "nofile", "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime");

    private static final int MAX_WINDOW_SIZE = 0xffff;

    private SpecValidation() {}

    static void check(SpawnSpec spec) throws SpawnFailure {
        if (spec.cmd() == null || spec.cmd().isEmpty()) {
            throw bad(spec, "cmd is empty");
        }
        noNul(spec, "cmd", spec.cmd());
        for (int i = 0; i < spec.args().size(); i++) {
            noNul(spec, "args[" + i + "]", spec.args().get(i));
        }
        checkEnv(spec.cmd(), spec.env());
        if (spec.cwd() != null) {
            noNul(spec, "cwd", spec.cwd());
        }
        if (spec.user() != null) {
            checkUser(spec);
        }
        checkWindow(spec, "rows", spec.rows());
        checkWindow(spec, "cols", spec.cols());
        checkRlimits(spec);
    }

    /**
     * Checks one list of "NAME=value" entries, naming a bad one by its index in {@code env}. A
     * request's own list is checked before it is merged ({@link SpawnSpec#from}): in the merged
     * environment the agent's PATH, LANG, ... come first, and an index there would not be the host's.
     */
    static void checkEnv(String cmd, List<String> env) throws SpawnFailure {
        for (int i = 0; i < env.size(); i++) {
            String entry = env.get(i);
            int eq = entry.indexOf('=');
            // Only the name goes into the message: values may be secrets (DESIGN.md decision 9).
            if (eq < 0) {
                throw bad(cmd, "env[" + i + "] has no '=' (entries are \"NAME=value\")");
            }
            if (eq == 0) {
                throw bad(cmd, "env[" + i + "] has an empty name");
            }
            if (entry.indexOf('\0') >= 0) {
                throw bad(cmd, "env[" + i + "] (" + LogText.quote(entry.substring(0, eq)) + ") contains a NUL byte");
            }
        }
    }

    private static void checkUser(SpawnSpec spec) throws SpawnFailure {
        String user = spec.user();
        noNul(spec, "user", user);
        String[] parts = user.split(":", -1);
        if (parts.length > 2 || parts[0].isEmpty() || (parts.length == 2 && parts[1].isEmpty())) {
            throw bad(spec, "user \"" + user + "\" is not one of name, uid, name:group, uid:gid");
        }
    }

    private static void checkWindow(SpawnSpec spec, String field, int value) throws SpawnFailure {
        if (value < 0 || value > MAX_WINDOW_SIZE) {
            throw bad(spec, field + " " + value + " is outside 0..65535");
        }
        if (spec.tty() && value == 0) {
            throw bad(spec, field + " is 0 in a PTY session");
        }
    }

    private static void checkRlimits(SpawnSpec spec) throws SpawnFailure {
        List<Rlimit> rlimits = spec.rlimits();
        for (int i = 0; i < rlimits.size(); i++) {
            Rlimit r = rlimits.get(i);
            String field = "rlimits[" + i + "]";
            if (r.resource() == null || !RLIMIT_NAMES.contains(r.resource())) {
                throw bad(spec, field + ".resource " + LogText.quote(r.resource()) + " is not a known rlimit (one of "
                        + String.join(" ", RLIMIT_NAMES.stream().sorted().toList()) + ")");
            }
            if (Long.compareUnsigned(r.soft(), r.hard()) > 0) {
                // resource_limit, as the setrlimit this pair would fail (EINVAL) is by PROTOCOL.md's
                // rule "a failed setrlimit resource_limit, whatever the errno": found before the
                // spawn, it is typed as it would be after it, and as hosts have always seen it.
                throw new SpawnFailure(ExecFailed.of(FailureKind.RESOURCE_LIMIT, null, null,
                        "cannot run \"" + spec.cmd() + "\": " + field + " (" + r.resource() + ") soft "
                                + Rlimit.text(r.soft()) + " is above hard " + Rlimit.text(r.hard())
                                + ": a soft limit cannot exceed its hard one (setrlimit refuses the pair, EINVAL;"
                                + " nothing was started)", STAGE));
            }
        }
    }

    private static void noNul(SpawnSpec spec, String field, String value) throws SpawnFailure {
        if (value.indexOf('\0') >= 0) {
            throw bad(spec, field + " contains a NUL byte");
        }
    }

    private static SpawnFailure bad(SpawnSpec spec, String what) {
        return bad(spec.cmd(), what);
    }

    /**
     * Quoted here, not by the caller's requote of the message: a cmd holding a NUL shown as it is
     * would put the NUL on the wire, and one shown otherwise is not found by requote, which then left
     * its newlines, terminal escapes and 4096 bytes in the message.
     */
    private static SpawnFailure bad(String cmd, String what) {
        return new SpawnFailure(ExecFailed.of(FailureKind.BAD_ARGS, null, null,
                "cannot run " + LogText.quote(cmd == null ? "" : cmd) + ": " + what, STAGE));
    }
}
