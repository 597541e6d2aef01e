package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkDirTest {

    @Test
    void afterAMissOnlyTheLogsAndTheDirectoriesHoldingThemStay(@TempDir Path tmp) throws Exception {
        Path work = Files.createDirectory(tmp.resolve("agentd-bench1"));
        Files.writeString(work.resolve("exec.log"), "agent log");
        Files.write(work.resolve("incoming.bin"), new byte[4096]);
        Files.write(work.resolve("incoming.back"), new byte[4096]);
        Files.createFile(work.resolve(".exec.sock.lock"));
        Files.createDirectories(work.resolve("agentctl-plain/lib"));
        Files.writeString(work.resolve("agentctl-plain/lib/agentctl.jar"), "jar");
        Files.createDirectories(work.resolve("qga-exec"));
        Files.writeString(work.resolve("qga-exec/qga.log"), "qga");
        Files.writeString(work.resolve("qga-exec/qga.state"), "state");
        Files.createSymbolicLink(work.resolve("link.log"), Path.of("/etc"));

        WorkDir.keepLogsOnly(work);

        try (var left = Files.walk(work)) {
            assertEquals(List.of("", "exec.log", "link.log", "qga-exec", "qga-exec/qga.log"),
                    left.map(p -> work.relativize(p).toString()).sorted().toList());
        }
        assertEquals("agent log", Files.readString(work.resolve("exec.log")));
    }

    @Test
    void afterARunThatMetEveryTargetNothingStays(@TempDir Path tmp) throws Exception {
        Path work = Files.createDirectory(tmp.resolve("agentd-bench2"));
        Files.createDirectories(work.resolve("qga-exec"));
        Files.writeString(work.resolve("qga-exec/qga.log"), "qga");
        Files.createSymbolicLink(work.resolve("etc"), Path.of("/etc"));

        WorkDir.delete(work);

        assertFalse(Files.exists(work, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertEquals(true, Files.isDirectory(Path.of("/etc")));
    }
}
