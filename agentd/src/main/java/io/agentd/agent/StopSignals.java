package io.agentd.agent;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.Threads;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;
import sun.misc.Signal;

/**
 * The signals that stop the agent (TERM, INT, HUP), taken by a thread made at start. The JVM's own
 * handling (sun.misc.Signal) starts a new thread for each signal, and when the kernel refuses that
 * thread (the agent's cgroup at its pids.max, as a session's fork bomb leaves it, or its memory gone)
 * it drops the signal with a warning on standard error: the agent ran on, and init's SIGTERM did
 * nothing. Here the native library's handler writes the signal's number to a pipe, and the thread
 * reads it and hands it on, one signal after the other; no thread is needed when the signal comes.
 * Where the pipe, the handler or the thread cannot be had at start, the JVM's handling is used.
 */
final class StopSignals {
    private static final String[] NAMES = {"TERM", "INT", "HUP"};

    private StopSignals() {}

    /** The name of a stop signal's number ("TERM" for 15). */
    static String name(int signal) {
        for (String name : NAMES) {
            if (new Signal(name).getNumber() == signal) {
                return name;
            }
        }
        return Integer.toString(signal);
    }

    /**
     * {@code handler} takes each stop signal's number, on a thread of its own made now; a handler
     * that blocks holds the signals that follow. Where the pipe, the thread or a signal's handler
     * cannot be had, that signal goes through the JVM's handling (a thread made for each).
     */
    static void handle(IntConsumer handler) {
        LibC libc = Os.libc();
        int[] pipe = new int[2];
        if (libc.pipe2(pipe, LibC.O_CLOEXEC) != 0) {
            handleAllByTheJvm(handler);
            return;
        }
        // The handler's end never blocks (a full pipe drops the byte); the reader's does, to wait.
        if (libc.fcntl(pipe[1], LibC.F_SETFL, LibC.O_NONBLOCK) != 0
                || Threads.startDaemon("agentd-signals", () -> readSignals(pipe[0], handler)) == null) {
            Os.close(pipe[0]);
            Os.close(pipe[1]);
            handleAllByTheJvm(handler);
            return;
        }
        for (String name : NAMES) {
            // 1: ignored since the agent's start, and left so (as the JVM's handling leaves it)
            if (libc.sigactionToPipe(new Signal(name).getNumber(), pipe[1]) < 0) {
                handleByTheJvm(name, handler);
            }
        }
    }

    private static void handleAllByTheJvm(IntConsumer handler) {
        for (String name : NAMES) {
            handleByTheJvm(name, handler);
        }
    }

    private static void handleByTheJvm(String name, IntConsumer handler) {
        Signal.handle(new Signal(name), sig -> handler.accept(sig.getNumber()));
    }

    private static void readSignals(int fd, IntConsumer handler) {
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            long n = Os.libc().read(fd, one, 1);
            if (n == 1) {
                handler.accept(one.get(0) & 0xff);
            } else if (n == 0 || Os.errno() != LibC.EINTR) { // the pipe is gone: nothing more comes
                return;
            }
        }
    }
}
