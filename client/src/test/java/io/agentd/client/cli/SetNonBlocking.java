package io.agentd.client.cli;

import jnr.ffi.LibraryLoader;

/**
 * Sets O_NONBLOCK on this process's stdout (or the fd given as its argument) and exits: the flag belongs to the open file description,
 * so a process given the same stdout after it (the shell's next command, agentctl) inherits it, as
 * one started with a harness's non-blocking pipe does. Exits 1 when the flag did not stick.
 * Run in a JVM of its own by {@code AgentctlEndToEndTest}.
 */
public final class SetNonBlocking {
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int O_NONBLOCK = 04000;

    /** The one libc call, bound by jnr-ffi. */
    public interface LibC {
        int fcntl(int fd, int cmd, int arg);
    }

    private SetNonBlocking() {}

    public static void main(String[] args) {
        LibC c = LibraryLoader.create(LibC.class).load("c");
        int fd = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int flags = c.fcntl(fd, F_GETFL, 0);
        if (flags < 0 || c.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || (c.fcntl(fd, F_GETFL, 0) & O_NONBLOCK) == 0) {
            System.err.println("SetNonBlocking: could not set O_NONBLOCK on fd " + fd);
            System.exit(1);
        }
    }
}
