package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An argument the JVM could not read whole is refused before anything runs: one whose bytes are not
 * UTF-8 reached the guest as U+FFFD before (`exec -- echo $'\xff'` printed EF BF BD).
 */
class ArgumentBytesTest {
    private static final Path AGENTCTL = AgentctlScriptedAgentTest.AGENTCTL;

    private static byte[] cmdline(byte[]... entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String launcher : List.of("java", "-cp", "x.jar", "io.agentd.client.cli.Agentctl")) {
            out.writeBytes(launcher.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        for (byte[] e : entries) {
            out.writeBytes(e);
            out.write(0);
        }
        return out.toByteArray();
    }

    @Test
    void argumentsReadWholeAreAccepted() {
        byte[] cafe = "café".getBytes(StandardCharsets.UTF_8);
        assertNull(ArgumentBytes.unreadable(new String[] {"exec", "", "--", "printf", "café"},
                cmdline("exec".getBytes(), new byte[0], "--".getBytes(), "printf".getBytes(), cafe)));
    }

    @Test
    void anArgumentThatIsNotUtf8IsRefusedAndShownEscaped() {
        String line = ArgumentBytes.unreadable(new String[] {"exec", "--", "echo", "\ufffd\ufffd"},
                cmdline("exec".getBytes(), "--".getBytes(), "echo".getBytes(), new byte[] {(byte) 0xff, (byte) 0xfe}));
        assertEquals("agentctl: argument 4 (\"\\xff\\xfe\") is not UTF-8: the agent takes names and arguments as"
                + " UTF-8 text; nothing was done", line);
    }

    @Test
    void anArgumentAnAsciiLocaleMisreadIsRefusedWithTheLocaleToUse() {
        String line = ArgumentBytes.unreadable(new String[] {"caf??"},
                cmdline("café".getBytes(StandardCharsets.UTF_8)));
        assertTrue(line.contains("argument 1 (\"caf\\xc3\\xa9\") cannot be read in this locale"), line);
    }

    @Test
    void aCommandLineThatIsNotTheseArgumentsIsNotJudged() {
        assertNull(ArgumentBytes.unreadable(new String[] {"a", "b", "c", "d", "e", "f"}, cmdline("x".getBytes())));
    }

    @Test
    void anEnvironmentValueIsJudgedByItsBytes() {
        byte[] environ = "A=1\0X=v\u00ff\0B=2\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertNull(ArgumentBytes.envValueUnreadable("A", "1", environ));
        assertNull(ArgumentBytes.envValueUnreadable("Y", "v\ufffd", environ), "not there: nothing to judge");
        assertEquals("-e X: its value in agentctl's environment (bytes 76 ff) is not UTF-8: the agent takes the"
                + " environment as UTF-8 text; nothing was done", ArgumentBytes.envValueUnreadable("X", "v\ufffd", environ));
    }

    /** scripts/agentctl itself, with bytes bash passes as they are: refused with 2 before any connection. */
    @Test
    void agentctlRefusesAnArgumentThatIsNotUtf8BeforeItConnects() throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "exec \"$0\" --socket /nonexistent/agentd.sock exec -- echo $'a\\xffb'",
                AGENTCTL.toString()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, p.exitValue(), err);
        assertTrue(err.contains("argument 6 (\"a\\xffb\") is not UTF-8"), err);
    }
}
