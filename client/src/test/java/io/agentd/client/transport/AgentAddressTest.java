package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

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
    void malformedVsockAddressesSayWhatIsWrong() {
        for (String bad : new String[] {"vsock:3", "vsock:3:x", "vsock:-1:5", "vsock:3:4294967296", "vsock::5",
                "hvsock:52", "hvsock:/tmp/v.sock:", "hvsock:/tmp/v.sock:port", ""}) {
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
}
