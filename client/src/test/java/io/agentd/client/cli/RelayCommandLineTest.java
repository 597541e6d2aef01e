package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** agentctl's relay command line and socket addresses, without an agent. */
class RelayCommandLineTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... argv) {
        return Agentctl.run(List.of(argv), null, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void relayNeedsBothSockets() {
        assertEquals(2, run("relay", "--port", "/tmp/x.sock"));
        assertTrue(err().contains("relay needs --port PORT_SOCKET and --listen SOCKET"), err());
    }

    @Test
    void aRelayWhosePortNeverAppearsSaysSoAndExits125(@TempDir Path dir) {
        assertEquals(125, run("relay", "--port", dir.resolve("none.sock").toString(), "--listen",
                dir.resolve("relay.sock").toString(), "--port-wait", "200ms"));
        assertTrue(err().contains("no port socket to connect to at " + dir.resolve("none.sock")), err());
    }

    @Test
    void aMalformedVsockAddressIsAUsageError() {
        assertEquals(2, run("--socket", "vsock:three:1024", "ping"));
        assertTrue(err().contains("CID must be a decimal number"), err());
    }

    @Test
    void theHelpNamesTheRelayAndTheAddresses() {
        assertEquals(0, run("--help"));
        String help = out.toString(StandardCharsets.UTF_8);
        assertTrue(help.contains("relay --port PORT_SOCKET --listen SOCKET") && help.contains("vsock:CID:PORT")
                && help.contains("hvsock:UDS_PATH:PORT"), help);
    }
}
