package io.agentd.agent.spawn;

import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Rlimit;
import java.util.List;

/**
 * Everything the spawner needs to start one command, after the agent has applied its defaults.
 *
 * @param cmd        program name or path; a name without '/' is searched in the child's PATH
 * @param args       argv[1..] (argv[0] is cmd)
 * @param env        the complete environment of the child, "K=V" each (see {@link EnvBuilder})
 * @param cwd        working directory, or null for the agent's default
 * @param user       "name", "uid", "name:group" or "uid:gid", or null to keep the agent's user
 * @param tty        PTY session (true) or pipes (false)
 * @param rows       PTY rows (ignored for pipes)
 * @param cols       PTY columns (ignored for pipes)
 * @param rlimits    limits to set in the child, by lower-case name ("nofile", ...)
 * @param profile    the security profile the shim applies before the exec
 */
public record SpawnSpec(
        String cmd,
        List<String> args,
        List<String> env,
        String cwd,
        String user,
        boolean tty,
        int rows,
        int cols,
        List<Rlimit> rlimits,
        Profile profile) {

    public SpawnSpec {
        profile = profile == null ? Profile.DEFAULT : profile;
        args = List.copyOf(args);
        env = List.copyOf(env);
        rlimits = List.copyOf(rlimits);
    }

    /** The agent's side of a spec: what a request leaves out is taken from here (--user, --cwd, ...). */
    public interface Defaults {
        String user();

        String cwd();

        List<String> env();

        /** The agent's profile (--profile); a request may ask for a stricter one. */
        Profile profile();
    }

    /**
     * The spec of {@code req}, the agent's defaults filling in what it leaves out, in the agent's
     * profile or the stricter one the request asks for ({@link RequestedProfile}).
     *
     * @throws RequestedProfile.Refused the request asks for an unknown or a weaker profile (answered
     *         with the exec.failed it carries)
     * @throws IllegalArgumentException the request cannot be run as given (answered bad_args)
     * @throws SpawnFailure the request's env has a bad entry (named by its index in the request)
     */
    public static SpawnSpec from(ExecRequest req, Defaults defaults) throws RequestedProfile.Refused, SpawnFailure {
        SpecValidation.checkEnv(req.cmd(), req.env()); // before the merge, which renumbers the entries
        Profile profile = RequestedProfile.resolve(defaults.profile(), req.profile());
        SpawnSpec spec = new SpawnSpec(req.cmd(), req.args(), EnvBuilder.build(defaults.env(), req.env(), req.tty()),
                req.cwd() != null ? req.cwd() : defaults.cwd(),
                req.user() != null ? req.user() : defaults.user(),
                req.tty(), req.rows(), req.cols(), req.rlimits(), profile);
        // Here too, not only at the spawn: a request the spawn would refuse as bad_args is refused
        // before its session cgroup is made (a limit it also asks for was answered resource_limit,
        // and every refused request cost a mkdir and an rmdir).
        SpecValidation.check(spec);
        return spec;
    }
}
