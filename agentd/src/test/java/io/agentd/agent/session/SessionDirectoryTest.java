package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a session's command line is shown in a list: whole when short, cut with a marker when long. */
class SessionDirectoryTest {

    @Test
    void shortArgsAndCmdAreListedAsTheyAre() {
        assertEquals(List.of("-c", "échec"), SessionDirectory.listedArgs(List.of("-c", "échec")));
        assertEquals("/bin/sh", SessionDirectory.listedCmd("/bin/sh"));
    }

    @Test
    void manyArgsAreCutAtTheEntryLimitWithACount() {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            args.add("a" + i);
        }
        List<String> listed = SessionDirectory.listedArgs(args);
        assertEquals(SessionDirectory.LIST_ARGS_MAX_ENTRIES + 1, listed.size());
        assertEquals("… (36 more)", listed.get(listed.size() - 1));
        assertEquals(args.subList(0, SessionDirectory.LIST_ARGS_MAX_ENTRIES), listed.subList(0, 64));
    }

    @Test
    void longArgsAreCutAtTheByteLimit() {
        List<String> listed = SessionDirectory.listedArgs(List.of("x".repeat(1000), "y".repeat(100), "z"));
        assertEquals(List.of("x".repeat(1000), "… (2 more)"), listed);
    }

    @Test
    void aLongCmdIsCutOnACharacterBoundaryWithItsLength() {
        String cmd = "é".repeat(600); // 1200 bytes
        String listed = SessionDirectory.listedCmd(cmd);
        assertTrue(listed.startsWith("é".repeat(512) + "… (1200 bytes)"), listed);
        assertEquals("é".repeat(512) + "… (1200 bytes)", listed);
    }
}
