package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** An agent whose list of sessions did not fit one frame says how many it left out, and ps says so too. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PsOmittedTest {
    private static final SessionInfo ONE = new SessionInfo(3, 42, "sleep", List.of("100"), false, "root",
            SessionInfo.RUNNING, 1_700_000_000_000L, null, null, 0, 0, 0, 0, false, true);

    @Test
    void sessionsLeftOutOfTheListAreCountedOnStderr(@TempDir Path dir) throws Exception {
        ScriptedAgentctl.Run r = ScriptedAgentctl.run(dir, List.of(Ready.FEATURE_SESSIONS), agent -> {
            Frame list = agent.receive();
            assertEquals(MessageType.SESSION_LIST, list.type());
            agent.send(new Frame(list.id(), MessageType.SESSION_LIST_RESULT, new SessionListResult(List.of(ONE), 2199)));
        }, "ps");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("3 ") && l.contains("sleep 100")), r.out());
        assertEquals("agentctl: ps: 2199 more session(s) not listed: the agent's answer holds the oldest, as many as"
                + " fit in one frame\n", r.err());
    }

    /**
     * Every cell the agent's words fill is printable: USER and STATE were printed as sent, and a
     * bidi override (U+202E) passed in CMD too (a review), reversing what follows on the terminal.
     */
    @Test
    void theAgentsWordsInEveryCellAreShownPrintable() {
        SessionInfo s = new SessionInfo(3, 42, "sl\u202eeep", List.of("1\n00", "a\u2028b"), false, "ro\u001b[2Jot",
                "runn\u202eing", 1_700_000_000_000L, null, null, 0, 0, 0, 0, false, true);
        String row = String.join(" ", PsCommand.row(s));
        assertTrue(row.codePoints().noneMatch(cp -> Character.isISOControl(cp)
                || Character.getType(cp) == Character.FORMAT || Character.getType(cp) == Character.LINE_SEPARATOR), row);
        assertTrue(row.contains("ro?[2Jot") && row.contains("runn?ing") && row.contains("sl?eep 1?00 a?b"), row);
    }
}
