package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class QemuGuestAgentTest {

    /** A qemu-ga stand-in: listens where it is told (-p), answers any command with a wrong sync id, stays up. */
    private static final String WRONG_SYNC = """
            #!/usr/bin/perl
            use IO::Socket::UNIX;
            my %opt = @ARGV;
            my $server = IO::Socket::UNIX->new(Local => $opt{'-p'}, Listen => 1) or die "listen: $!";
            my $host = $server->accept() or die "accept: $!";
            $host->autoflush(1);
            while (<$host>) { print $host "{\\"return\\": 999999}\\n"; }
            sleep 600;
            """;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aQemuGaWhoseFirstSyncFailsIsStoppedBeforeTheExceptionGoesOn(@TempDir Path tmp) throws Exception {
        Path fake = tmp.resolve("qemu-ga");
        Files.writeString(fake, WRONG_SYNC);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));

        IOException e = assertThrows(IOException.class, () -> QemuGuestAgent.start(fake, tmp.resolve("qga")));

        assertTrue(e.getMessage().contains("guest-sync answered 999999"), e.getMessage());
        List<ProcessHandle> left = ProcessHandle.current().children()
                .filter(p -> p.info().commandLine().orElse("").contains(fake.toString())).toList();
        try {
            assertEquals(List.of(), left.stream().filter(ProcessHandle::isAlive).toList(), "the stand-in still runs");
        } finally {
            left.forEach(ProcessHandle::destroyForcibly);
        }
    }
}
