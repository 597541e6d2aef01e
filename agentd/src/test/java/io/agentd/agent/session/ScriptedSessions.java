package io.agentd.agent.session;

import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.Profile;
import io.agentd.agent.transport.HostOutput;
import java.util.List;

/** A {@link Sessions} on a scripted loop and scripted syscalls, every command started as the given child. */
public final class ScriptedSessions {
    private final ScriptedIo io = new ScriptedIo();
    public final Sessions sessions;

    public ScriptedSessions(ScriptedLoop loop, HostOutput host, Child child) {
        sessions = new Sessions(loop, host, (spec, cgroupProcsFd) -> child, new SessionDefaults(null, null, List.of(), Profile.DEFAULT,
                250, 2000, 1024, 4096, 512), io);
    }

    public List<String> signals() {
        return io.signals;
    }

    /** The leader {@code pid} exited with {@code code} (the next waitpid reaps it). */
    public void exit(int pid, int code) {
        io.exit(pid, code);
    }

    /** Every writer of {@code fd} is gone. */
    public void eof(int fd) {
        io.eof(fd);
    }

    public int closes(int fd) {
        return io.closes(fd);
    }

    public void groupAlive(int pgid, boolean alive) {
        io.groupAlive(pgid, alive);
    }
}
