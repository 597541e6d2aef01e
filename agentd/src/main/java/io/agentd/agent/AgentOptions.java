package io.agentd.agent;

import io.agentd.agent.session.SessionDefaults;
import io.agentd.agent.session.cgroup.SessionsMemoryMax;
import io.agentd.agent.session.retain.RetentionLimits;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.SocketAccess;
import java.nio.file.Path;
import java.util.List;

/**
 * The command line of agentd. {@link #parse} refuses anything it does not understand with a
 * {@link UsageException} (Main prints it and exits 2).
 *
 * @param portName     virtio-serial port name to look up and serve (--port-name, or "agent" when
 *                     neither --port nor --listen is given), or null
 * @param port         a character device or tty to serve (--port), or null
 * @param listen       sockets to serve (--listen unix:PATH or vsock:PORT, repeatable), in order
 * @param socketAccess who may use the unix sockets: --socket-mode, --socket-group, --allow-uid
 * @param serveLocalVsock --vsock-local serve: vsock peers on the agent's own machine are served too
 * @param maxConnections socket connections served at once, over all sockets (--max-connections)
 * @param sessionDefaults --user, --cwd, --env, --profile, --drain-ms, --grace-ms, --stdin-limit,
 *                     --stdin-total and --stdin-window
 * @param highWater    outbound queue bytes past which session output is no longer read
 * @param stallWarnMillis how long the host may take no output, with some queued, before a warning
 * @param frameTimeoutMillis how long a socket host may leave a frame it began unfinished, sending
 *                     nothing, before it is dropped (--frame-timeout); 0 for never
 * @param logFile      log to this file instead of the console, or null
 * @param logLevel     root log level
 * @param stateDir     where live sessions' process groups are recorded for the next agent
 * @param hostLossPolicy --on-host-loss, or null for the transport's default
 * @param cgroupRoot   --cgroup-root: the cgroup2 directory for session cgroups, "none", or null to find it
 * @param sessionsMemoryMax --sessions-memory-max: the memory.max over all sessions together
 * @param retention    --session-buffer, --session-buffer-total, --retain-exited
 * @param oomScoreAdj  --oom-score-adj: the agent's own oom_score_adj, set at its start, or null
 *                     (keep) to leave the one it was started with
 * @param help         --help was given
 */
public record AgentOptions(
        String portName,
        Path port,
        List<ListenAddress> listen,
        SocketAccess socketAccess,
        boolean serveLocalVsock,
        int maxConnections,
        SessionDefaults sessionDefaults,
        long highWater,
        long stallWarnMillis,
        long frameTimeoutMillis,
        Path logFile,
        String logLevel,
        Path stateDir,
        HostLossPolicy hostLossPolicy,
        String cgroupRoot,
        SessionsMemoryMax sessionsMemoryMax,
        RetentionLimits retention,
        Integer oomScoreAdj,
        boolean help) {

    public static final String HELP = """
            Usage: agentd [options]
            Serves exec requests from hosts over a virtio-serial port (default), a tty, unix sockets
            and vsock ports; a port and sockets can be served together.

            Transport (a port, sockets, or both):
              --port-name NAME     virtio-serial port to serve, found in /sys/class/virtio-ports
                                   (default: agent, when neither --port nor --listen is given)
              --port PATH          serve this character device or tty (a tty is put in raw mode
                                   and held exclusive: only CAP_SYS_ADMIN may open it meanwhile);
                                   a port not there at the start (either option) is waited for 5 s
              --listen unix:PATH   serve hosts on a unix socket, each connection a host of its own,
                                   many at once; repeatable, and goes with --port or --port-name
              --listen vsock:PORT  the same on a vsock port (any CID of the guest); access control is
                                   the VMM's: any host process that can reach the port (docs/SECURITY.md)
              --vsock-local refuse|serve
                                   a vsock peer on the agent's own machine (vsock_loopback: any process
                                   of the guest, whatever its uid) is told it is refused (core.error
                                   invalid_session on id 0) and closed, or served (default: refuse;
                                   local clients have the unix socket, whose peers the kernel names)
              --max-connections N  socket connections served at once, over all sockets; one more is
                                   told so (core.error invalid_session on id 0) and closed (default: 64)
              --frame-timeout SECONDS
                                   a socket connection that began a frame and sends no byte of it (of
                                   a frame over 128 KiB: less than 64 KiB more) for
                                   this long is told so (core.error malformed_message on id 0) and
                                   closed, giving back its connection place and large-frame room;
                                   an idle connection between frames is never closed (default: 10;
                                   0: never; a virtio or tty port has no such deadline)
              --on-host-loss kill|keep
                                   what happens to running sessions when their host goes away (or the
                                   relay client that owned them: core.relay.client.disconnected): kill
                                   them (SIGKILL to each group, nothing sent) or keep them running
                                   (default: kill on a socket, whose next connection is a new host;
                                   keep on a port, whose host comes back to the same queue; kept
                                   sessions of a socket connection run on without a host, their
                                   output kept (--session-buffer) for a later attach)
              Any host may send core.shutdown, which stops the whole agent.

            Unix socket access, for every unix socket (docs/SECURITY.md):
              --socket-mode MODE   the socket's mode, octal, whatever the umask (default: 0600; 0660
                                   with --socket-group)
              --socket-group GROUP the socket's group (name or gid); its members may connect
              --allow-uid UID      a uid allowed to connect besides root and the agent's own;
                                   repeatable (every connection's peer is checked with SO_PEERCRED)

            Session defaults (a request's own values win):
              --user USER          user to run commands as: name, uid, name:group or uid:gid (default: the agent's)
              --cwd DIR            working directory (default: the agent's); a --user or --cwd that
                                   cannot be used at the start is said in the log (not refused:
                                   it may come later), and requests without their own fail on it
              --env K=V            environment entry; repeatable
              --profile NAME       security profile: default, restricted (no_new_privs, no CAP_SYS_ADMIN)
                                   or strict (no_new_privs, no capability in any set, none to regain);
                                   a request may ask for a stricter one, never a weaker one

            Timing and limits:
              --drain-ms N         after a session leader exits, read output still held open by its
                                   descendants for N ms, then send exited (default: 250)
              --grace-ms N         SIGTERM to SIGKILL grace for timeouts and shutdown (default: 2000)
              --high-water BYTES   stop reading session output while this much is queued for the host
                                   (default: 1m; BYTES: a count with k, m or g for KiB, MiB, GiB,
                                   any case, b or ib after it allowed: 64k, 1M, 2GiB)
              --stdin-limit BYTES  stdin queued per session at most; more is refused with stdin.error
                                   (default: 16m)
              --stdin-total BYTES  stdin queued for all sessions together at most (default: 64m)
              --stdin-window BYTES stdin credit granted to a host that asks for flow control, topped
                                   up as the child reads; a session starts at 64k and doubles
                                   each time its child has read that much, up to this (default:
                                   1m, or --stdin-limit if smaller; at most --stdin-limit)
              --stall-warn-ms N    log a warning when the host has taken no output for N ms while
                                   some is waiting for it, and a line when it takes output again
                                   (default: 5000; 0: never)

            Detached sessions (exec --detach, attach; docs/PROTOCOL-EXTENSIONS.md, "Sessions"):
              --session-buffer BYTES
                                   output kept per session while no host is attached (a detachable
                                   session keeps it from its start); the oldest goes first (default: 1m)
              --session-buffer-total BYTES
                                   memory for output kept over all sessions, counted in the 4 KiB
                                   pieces it is kept in; past it, the session costing the most
                                   loses its oldest bytes first (default: 64m)
              --retain-exited SECONDS
                                   how long an exited session nobody is attached to keeps its status
                                   for an attach (default: 600)

            Logging:
              --log-file PATH      log to this file instead of the console (stderr)
              --log-level LEVEL    error, warn, info, debug or trace (default: info)

              --state-dir DIR      record live sessions' process groups here (in DIR/session-groups,
                                   which only the agent can enter), so that the next agent kills what
                                   this one left running if it dies (default: /run/agentd; DIR must
                                   be the agent's own, not a link, and writable by it alone; without
                                   a usable directory the agent says so and runs without)
              --cgroup-root PATH   cgroup2 directory under which each session gets a cgroup of its own,
                                   killed whole at a timeout, host loss or shutdown (default: found
                                   from the agent's own cgroup; 'none': sessions stay in the agent's;
                                   a missing PATH is made only inside a cgroup2 directory; without
                                   a usable one the agent says so and runs without session cgroups)
              --sessions-memory-max BYTES|N%|none
                                   memory.max over all sessions together, what they leave in tmpfs
                                   included, set on PATH/sessions, the cgroup that holds theirs: a
                                   session that meets it is OOM-killed, never the agent (default:
                                   MemTotal less the files held in memory outside the sessions
                                   (Shmem) and 128 MiB for the agent and the kernel, at least
                                   64 MiB, and below a lower memory.max set on PATH or above; N%:
                                   that share of MemTotal; none: not limited)
              --oom-score-adj N|keep
                                   the agent's own oom_score_adj, set at its start (-1000 to 1000;
                                   default: -999, so that when the memory runs out the kernel's OOM
                                   killer takes the sessions' processes first and the agent only
                                   when nothing else is left; lowering it needs CAP_SYS_RESOURCE,
                                   and an agent without says so and runs unprotected). Sessions
                                   start with the value the agent was started with. keep: left as
                                   it was started (a service manager sets it, e.g. systemd's
                                   OOMScoreAdjust=), and sessions inherit it
              -h, --help           show this help

            Each option takes one value and is given once, except those marked repeatable.

            Exit status: 0 a host asked it to stop (core.shutdown); 1 it cannot start serving;
            2 a command line it refuses; 3 a fatal error; 128+N signal N began its stop (SIGTERM
            143, SIGINT 130, SIGHUP 129: each stops it as core.shutdown does).
            """;

    /** A command line that cannot be used; the message says why. */
    public static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
            super(message);
        }
    }

    public static AgentOptions parse(String... args) throws UsageException {
        return AgentCommandLine.parse(args);
    }

    /** True when a port is served (--port, --port-name, or neither those nor --listen). */
    public boolean servesPort() {
        return port != null || portName != null;
    }

    /** The policy given with --on-host-loss, else the transport's own default. */
    public HostLossPolicy hostLossPolicyOr(HostLossPolicy transportDefault) {
        return hostLossPolicy != null ? hostLossPolicy : transportDefault;
    }
}
