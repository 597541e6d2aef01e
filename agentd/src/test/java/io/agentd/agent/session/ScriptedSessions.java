package io.agentd.agent.session;

import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.Profile;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * A {@link Sessions} on a scripted loop and scripted syscalls, each command started as the next of
 * the given children (the last one again when they run out).
 */
public final class ScriptedSessions {
    private final ScriptedIo io = new ScriptedIo();
    public final Sessions sessions;

    public ScriptedSessions(ScriptedLoop loop, Child... children) {
        Deque<Child> next = new ArrayDeque<>(List.of(children));
        sessions = new Sessions(loop, (spec, cgroupFd) -> next.size() > 1 ? next.poll() : next.peek(), new SessionDefaults(null, null, List.of(), Profile.DEFAULT,
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

    /** {@code text} waits to be read from {@code fd}. */
    public void output(int fd, String text) {
        io.output(fd, text);
    }

    public void groupAlive(int pgid, boolean alive) {
        io.groupAlive(pgid, alive);
    }
}
