package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentAddressTest {

    @Test
    void theThreeFormsAndAPlainPath() {
        assertEquals(new AgentAddress.Unix(Path.of("/run/agentd/agentd.sock")), AgentAddress.parse("/run/agentd/agentd.sock"));
        assertEquals(new AgentAddress.Unix(Path.of("rel/a.sock")), AgentAddress.parse("unix:rel/a.sock"));
        assertEquals(new AgentAddress.Vsock(3, 1024), AgentAddress.parse("vsock:3:1024"));
        assertEquals(new AgentAddress.Vsock(0xFFFF_FFFFL, 0xFFFF_FFFFL), AgentAddress.parse("vsock:4294967295:4294967295"));
        // the path may hold colons: the port is after the last one
        assertEquals(new AgentAddress.HybridVsock(Path.of("/tmp/a:b/v.sock"), 52), AgentAddress.parse("hvsock:/tmp/a:b/v.sock:52"));
        assertEquals("hvsock:/tmp/v.sock:52", AgentAddress.parse("hvsock:/tmp/v.sock:52").toString());
        assertEquals("vsock:1:5000", AgentAddress.parse("vsock:1:5000").toString());
    }

    @Test
    void malformedAddressesSayWhatIsWrong() {
        for (String bad : new String[] {"vsock:3", "vsock:3:x", "vsock:-1:5", "vsock:3:4294967296", "vsock::5",
                "hvsock:52", "hvsock:/tmp/v.sock:", "hvsock:/tmp/v.sock:port", "", "unix:"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AgentAddress.parse(bad), bad);
            assertTrue(e.getMessage().length() > 10, e.getMessage());
        }
    }

    @Test
    void aVsockConnectThatFailsNamesTheAddressAndTheErrno() {
        // Nothing listens on this port of the local context (or there is no vsock transport at
        // all on this host): either way connect(2) fails, and the message says where and why.
        IOException e = assertThrows(IOException.class,
                () -> AgentAddress.parse("vsock:1:4293967295").open(Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("vsock:1:4293967295") && e.getMessage().contains("errno"), e.getMessage());
    }

    @Test
    void aUnixConnectThatFailsNamesThePathAndWhatIsWrongWithIt(@TempDir Path dir) throws IOException {
        Path none = dir.resolve("none.sock");
        assertEquals("no socket at " + none + " (is the agent running, listening on that path?)",
                unixConnectFailure(none).getMessage());

        Path file = Files.writeString(dir.resolve("file"), "x");
        assertEquals(file + " is not a socket", unixConnectFailure(file).getMessage());
        assertEquals(dir + " is not a socket but a directory", unixConnectFailure(dir).getMessage());

        Path stale = dir.resolve("stale.sock"); // the file of a socket nobody listens on any more
        try (ServerSocketChannel gone = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            gone.bind(UnixDomainSocketAddress.of(stale));
        }
        IOException refused = unixConnectFailure(stale);
        assertTrue(refused instanceof ConnectException, refused.toString());
        assertTrue(refused.getMessage().startsWith("connection refused at " + stale), refused.getMessage());
    }

    private static IOException unixConnectFailure(Path path) {
        IOException e = assertThrows(IOException.class, () -> new AgentAddress.Unix(path).open(Duration.ofSeconds(1)));
        assertTrue(e.getCause() instanceof IOException, "the JDK's exception is the cause");
        return e;
    }
}
