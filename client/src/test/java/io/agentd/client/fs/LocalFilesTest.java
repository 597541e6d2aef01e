package io.agentd.client.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalFilesTest {

    @Test
    void aFileWhoseNameIsNearNameMaxIsReplaced(@TempDir Path dir) throws Exception {
        // 255 bytes is Linux's NAME_MAX: ".NAME.agentctl-XXXXXXXX" once made the temporary name too long
        for (String name : List.of("M".repeat(255), "\u00e9".repeat(127), "M".repeat(240))) {
            Path target = dir.resolve(name);
            LocalFiles.replace(target, GuestFiles.permissionsOf(0644), new ByteArrayInputStream("data".getBytes()), null);
            assertEquals("data", Files.readString(target));
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(3, s.count(), "no temporary file left");
        }
    }

    @Test
    void theTemporaryNameKeepsAsMuchOfTheNameAsFits() {
        assertEquals(".short.agentctl-0badcafe", LocalFiles.tempName("short", "0badcafe"));
        String cut = LocalFiles.tempName("\u00e9".repeat(127), "0badcafe");
        assertTrue(cut.getBytes(StandardCharsets.UTF_8).length <= 255, cut);
        assertEquals("." + "\u00e9".repeat(118) + ".agentctl-0badcafe", cut, "cut between characters, not inside one");
    }
}
