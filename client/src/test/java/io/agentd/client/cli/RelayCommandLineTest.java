package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
    void aReadyWarningThatIsNoDurationIsAUsageError() {
        assertEquals(2, run("relay", "--port", "/tmp/x.sock", "--listen", "/tmp/y.sock", "--ready-warning", "soon"));
        assertTrue(err().contains("--ready-warning: not a duration: 'soon'"), err());
    }

    @Test
    void aRelayWhosePortNeverAppearsSaysSoAndExits125(@TempDir Path dir) {
        assertEquals(125, run("relay", "--port", dir.resolve("none.sock").toString(), "--listen",
                dir.resolve("relay.sock").toString(), "--port-wait", "200ms"));
        assertTrue(err().contains("no port socket to connect to at " + dir.resolve("none.sock")), err());
    }

    @Test
    void aListenSocketThatCannotBeMadeIsNamedInTheError(@TempDir Path dir) throws Exception {
        Path listen = dir.resolve("no-such-dir").resolve("relay.sock");
        try (ServerSocketChannel port = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            port.bind(UnixDomainSocketAddress.of(dir.resolve("port.sock"))); // connects wait in its backlog
            assertEquals(125, run("relay", "--port", dir.resolve("port.sock").toString(), "--listen", listen.toString()));
        }
        assertTrue(err().contains("cannot listen on " + listen), err());
        // why, in strerror's words: it named the JDK's exception class ("java.nio.file.NoSuchFileException: ...")
        assertTrue(err().contains("its lock file .relay.sock.lock cannot be opened: No such file or directory\n"), err());
        assertFalse(err().contains("java."), err());
    }

    /** A port path that is a plain file or a directory will never become a socket: no point waiting for it. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aPortPathThatIsNoSocketIsRefusedWithoutWaitingForIt(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("port-file"));
        assertEquals(125, run("relay", "--port", file.toString(), "--listen", dir.resolve("relay.sock").toString(),
                "--port-wait", "10m"));
        assertTrue(err().contains(file + " is not a socket"), err());
    }

    @Test
    void aMalformedVsockAddressIsAUsageError() {
        assertEquals(2, run("--socket", "vsock:three:1024", "ping"));
        assertTrue(err().contains("CID must be a decimal number"), err());
    }

    /** Digits past a u32 are a number out of range, not "must be a decimal number" (said of 99999999999). */
    @Test
    void aVsockPortOfTooManyDigitsIsOutOfRange() {
        assertEquals(2, run("--socket", "vsock:3:99999999999", "ping"));
        assertTrue(err().contains("PORT 99999999999 is not a u32 (0..4294967295)"), err());
    }

    @Test
    void theHelpNamesTheRelayAndTheAddresses() {
        assertEquals(0, run("--help"));
        String help = out.toString(StandardCharsets.UTF_8);
        assertTrue(help.contains("relay --port PORT_SOCKET --listen SOCKET") && help.contains("vsock:CID:PORT")
                && help.contains("hvsock:UDS_PATH:PORT"), help);
    }
}
