package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.agent.sys.LibC;

/** socketpair(2), for the tests that need a port they can both read and write (jnr: the agent's own libc binding has no socketpair). */
public final class SocketPairs {
    private SocketPairs() {}

    /** The call itself. */
    public interface Calls {
        int socketpair(int domain, int type, int protocol, @jnr.ffi.annotations.Out int[] fds);
    }

    /** A connected pair of non-blocking unix stream sockets: the link's port (or the agent's end), and the host's end. */
    public static int[] open() {
        int[] pair = new int[2];
        assertEquals(0, jnr.ffi.LibraryLoader.create(Calls.class).load("c")
                .socketpair(1, 1 | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0, pair)); // AF_UNIX, SOCK_STREAM
        return pair;
    }
}
