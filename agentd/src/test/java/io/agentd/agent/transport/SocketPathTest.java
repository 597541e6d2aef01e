package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The temporary name the socket is bound under before its rename: readable when it fits, short when not. */
class SocketPathTest {
    private static final long PID = 4194304; // the largest pid_max: 7 digits, "2hwcg" in base 36

    /** A path of exactly {@code bytes} bytes ending in {@code name}. */
    private static Path pathOf(int bytes, String name) {
        String dir = "/" + "d".repeat(bytes - name.length() - 2);
        Path p = Path.of(dir, name);
        assertEquals(bytes, p.toString().length());
        return p;
    }

    @Test
    void aPathWithRoomGetsTheNameThatSaysWhoseItIs() {
        Path socket = Path.of("/run/agentd/agentd.sock");
        assertEquals(Path.of("/run/agentd/.agentd.sock.4194304.new"), SocketPath.temporaryFor(socket, PID));
    }

    @Test
    void aPathAtTheAddressLimitGetsAShortNameThatStillFits() {
        Path socket = pathOf(UnixSocketServer.SUN_PATH_MAX - 1, "agent.sock");
        Path temporary = SocketPath.temporaryFor(socket, PID);
        assertEquals(socket.resolveSibling(".2hwcg"), temporary);
        assertTrue(SocketPath.fitsSocketAddress(temporary), temporary.toString());
        // six bytes of name are enough
        Path six = pathOf(UnixSocketServer.SUN_PATH_MAX - 1, "a.sock");
        assertTrue(SocketPath.fitsSocketAddress(SocketPath.temporaryFor(six, PID)));
    }

    @Test
    void aPathPastTheLimitDoesNotFit() {
        assertTrue(!SocketPath.fitsSocketAddress(pathOf(UnixSocketServer.SUN_PATH_MAX, "agent.sock")));
        assertTrue(SocketPath.fitsSocketAddress(pathOf(UnixSocketServer.SUN_PATH_MAX - 1, "agent.sock")));
    }
}
