package io.agentd.agent.session;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.session.cgroup.CgroupRefusal;
import io.agentd.agent.session.cgroup.SessionCgroup;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.RequestedProfile;
import io.agentd.agent.spawn.SpawnFailure;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
import java.io.UncheckedIOException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a session's life begins: a host's exec request becomes a {@link SpawnSpec}
 * ({@link SpawnSpec#from}), the session's cgroup is made and the child started in it
 * ({@code starter.start}, off the loop: {@link SpawnRunner}; then {@code new Session}, back on the
 * loop), or the request is answered refused or failed. A start that fails past the spawn leaves
 * nothing behind ({@link #abortStart}). Loop thread only, but for the spawn itself.
 */
final class SessionLauncher {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class); // Sessions' lines, as before

    private final Loop loop;
    private final Sessions.Starter starter;
    /** Where each spawn runs: off the loop in the agent ({@link OffLoopSpawns}). */
    private final SpawnRunner spawns;
    /** See {@link #spawnsInFlight}. */
    private int spawnsInFlight;
    /**
     * Whether the requesting host is the agent's only one ({@link #spawnOnTheLoopWhenAlone}): with no
     * session running and no spawn in flight either, nobody else waits for the loop during the
     * spawn, and it runs there (its host's later frames wait for it anyway). Handing it to the
     * spawner thread and back cost every command 7% of its exec latency and 12% of the agent's CPU
     * on the development host (BENCHMARKS.md, forty-fourth session). False until the agent says.
     */
    private BooleanSupplier requesterAlone = () -> false;
    private final SessionIo io;
    private final SessionTable table;
    private final SharedParts parts;
    private final SessionsShutdown shutdown;
    /** What each session sees of the registry that runs it. */
    private final SessionOwner owner;

    SessionLauncher(Loop loop, Sessions.Starter starter, SpawnRunner spawns, SessionIo io, SessionTable table,
            SharedParts parts, SessionsShutdown shutdown, SessionOwner owner) {
        this.loop = loop;
        this.starter = starter;
        this.spawns = spawns;
        this.io = io;
        this.table = table;
        this.parts = parts;
        this.shutdown = shutdown;
        this.owner = owner;
    }

    /**
     * Starts the session {@code req} asks for on {@code id} of {@code from}'s connection, in the table,
     * the directory and the reaper, or answers the request refused or failed; then {@code then} runs
     * with the session (left to it to detach, when the request asked start_detached), or with null.
     * The spawn runs on {@link #spawns} (off the loop: {@link OffLoopSpawns}), so {@code then} may run
     * in a later turn of the loop, exactly once; a request refused before the spawn is answered, and
     * {@code then} run, before this returns.
     */
    void start(SessionHost from, long id, ExecRequest req, Consumer<Session> then) {
        Prepared prepared = prepare(from, id, req);
        if (prepared == null) {
            then.accept(null);
            return;
        }
        SpawnRunner runner = table.isEmpty() && spawnsInFlight == 0 && requesterAlone.getAsBoolean()
                ? SpawnRunner.INLINE : spawns;
        spawnsInFlight++;
        runner.spawn(parts.reaper().starting(starter), prepared.spec(), prepared.cgroup().fd(),
                (child, failure, bug) -> {
                    spawnsInFlight--;
                    Session s = null;
                    try {
                        s = spawned(from, id, req, prepared.spec(), prepared.cgroup(), child, failure, bug);
                    } finally {
                        then.accept(s); // also when the start threw (a bug, logged by the loop): its host's input is released
                    }
                });
    }

    /** What a request needs before its spawn: the spec, and the session's cgroup made. */
    private record Prepared(SpawnSpec spec, SessionCgroup cgroup) {}

    /** The request checked, its spec made and its cgroup created; or null, the request answered refused or failed. */
    private Prepared prepare(SessionHost from, long id, ExecRequest req) {
        String type = MessageType.EXEC_REQUEST.wire();
        HostOutput host = from.output();
        if (id == Protocol.CONTROL_ID) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "id 0 is the control channel, not a session");
            return null;
        }
        SessionKey key = new SessionKey(from.connection(), id);
        if (table.isRouted(key)) {
            host.refuse(id, ErrorKind.INVALID_SESSION, type, "session " + id + " is running; request refused");
            return null;
        }
        if (shutdown.begun()) {
            sendFailed(host, id, req, ExecFailed.of(FailureKind.OTHER, null, null, "the agent is shutting down",
                    null));
            return null;
        }
        if (req.startDetached() && !req.detachable()) {
            // Only a detachable session keeps its output from byte 0 for the attach that must follow.
            sendFailed(host, id, req, ExecFailed.of(FailureKind.BAD_ARGS, null, null,
                    "start_detached needs detachable: true", null));
            return null;
        }
        SpawnSpec spec;
        try {
            spec = SpawnSpec.from(req, parts.defaults());
        } catch (RequestedProfile.Refused e) {
            sendFailed(host, id, req, e.failed);
            return null;
        } catch (SpawnFailure f) {
            sendFailed(host, id, req, f.failure());
            return null;
        } catch (IllegalArgumentException e) {
            sendFailed(host, id, req, ExecFailed.of(FailureKind.BAD_ARGS, null, null, e.getMessage(), null));
            return null;
        }
        try {
            return new Prepared(spec, parts.cgroups().create(req.memoryMax(), req.pidsMax()));
        } catch (CgroupRefusal r) {
            sendFailed(host, id, req, r.failure());
            return null;
        }
    }

    /** See {@link #requesterAlone}. */
    void spawnOnTheLoopWhenAlone(BooleanSupplier requesterAlone) {
        this.requesterAlone = requesterAlone;
    }

    /** Spawns asked for whose outcome has not come back to the loop yet. */
    int spawnsInFlight() {
        return spawnsInFlight;
    }

    /**
     * On the loop thread, the spawn's outcome: the session, in the table, the directory and the reaper,
     * or null when the request was answered failed. A session that started once the agent's shutdown
     * had begun is signalled as the ones before it were ({@link SessionsShutdown#startedLate}).
     */
    private Session spawned(SessionHost from, long id, ExecRequest req, SpawnSpec spec, SessionCgroup cgroup,
            Child child, SpawnFailure failure, Throwable bug) {
        HostOutput host = from.output();
        SessionRoute route = null;
        Session s;
        try {
            if (failure != null) {
                ExecFailed failed = parts.cgroups().spawnFailure(cgroup, failure.failure());
                parts.cgroups().release(cgroup);
                sendFailed(host, id, req, failed);
                return null;
            }
            if (bug != null) {
                abortStart(host, id, req, null, cgroup, bug);
                return null;
            }
            parts.groupRecords().started(child.pid());
            route = new SessionRoute(from, id, req.detachable(), parts.retention());
            s = new Session(route, parts.directory().nextNumber(), req.detachable(), child, spec, timeoutOf(req),
                    req.stdinWindow(), cgroup, owner, loop, io);
        } catch (RuntimeException e) {
            if (route != null) {
                route.release(); // a detachable session's ring, opened for it, goes with it
            }
            if (child != null) {
                parts.reaper().notRegistered(child.pid());
            }
            abortStart(host, id, req, child, cgroup, e);
            return null;
        } finally {
            cgroup.closeFd();
        }
        SessionKey key = new SessionKey(from.connection(), id);
        table.add(key, s);
        parts.directory().keyTaken(key);
        parts.directory().add(s);
        parts.reaper().started(key, s);
        shutdown.startedLate(s);
        return s;
    }

    /**
     * The start failed past the spawn, before started was sent: the loop refused the child's fds
     * (epoll_ctl: ENOSPC at fs.epoll.max_user_watches, ENOMEM), or a bug threw. The session never
     * existed for the host: the child (if there is one) is killed with its group and cgroup, its fds
     * closed, its cgroup released (the sweep reaps the leader as an orphan and removes the cgroup once
     * empty), and the host gets failed: kind resource_limit with the errno and the call as the stage
     * when the kernel refused, else other.
     */
    private void abortStart(HostOutput host, long id, ExecRequest req, Child child, SessionCgroup cgroup,
            Throwable e) {
        if (child != null) {
            io.killGroup(child.pid(), LibC.SIGKILL); // not reaped yet: the pid is still the child's
        }
        cgroup.kill(0);
        if (child != null) {
            io.close(child.pidfd());
            io.close(child.stdinFd());
            if (!child.tty()) { // a PTY's stdout is its master, the stdin fd
                io.close(child.stdoutFd());
                io.close(child.stderrFd());
            } else if (child.ptySlaveFd() >= 0) {
                io.close(child.ptySlaveFd());
            }
        }
        parts.cgroups().release(cgroup);
        ExecFailed failed;
        if (e instanceof UncheckedIOException u && u.getCause() instanceof OsException os) {
            failed = ExecFailed.of(FailureKind.RESOURCE_LIMIT, os.errno(), os.errnoName(),
                    "the command started but the agent could not watch it, so it was killed: " + os.getMessage(),
                    os.call());
        } else {
            failed = ExecFailed.of(FailureKind.OTHER, null, null, "the agent failed to "
                    + (child == null ? "start" : "set up") + " the command"
                    + (child == null ? "" : " and killed it") + ": " + e, null);
        }
        log.error("session {}: start failed after the spawn{}", id,
                child == null ? "" : " (pid " + child.pid() + " killed)", e);
        sendFailed(host, id, req, failed);
    }

    /** The request's timeout_ms, or null for none: absent, or 2^63 or more (a u64 read as negative), which means none. */
    private static Long timeoutOf(ExecRequest req) {
        Long t = req.timeoutMs();
        return t == null || t < 0 ? null : t;
    }

    /** Answers {@code req} with {@code failed}, its quotes of the request's text cut short. */
    private void sendFailed(HostOutput host, long id, ExecRequest req, ExecFailed reported) {
        ExecFailed failed = new ExecFailed(reported.kind(), reported.errno(), reported.errnoName(),
                LogText.requote(reported.message(), req.cmd(), req.cwd(), req.user()), reported.stage());
        // The cmd, not the message: the message quotes host text already, and is on the wire anyway.
        // At the refusals' rate: a host can send such requests in a loop (a refused profile, say).
        host.requestFailed(id, failed, LogText.quote(req.cmd()));
        TerminalFrames.sendFailed(host, id, failed);
    }
}
