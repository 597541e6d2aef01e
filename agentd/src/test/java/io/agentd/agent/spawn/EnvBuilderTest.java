package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class EnvBuilderTest {

    /** The values PROTOCOL-EXTENSIONS.md ("The command's environment") gives hosts, written out. */
    @Test
    void minimalDefaultHasPathAndLangButNoHome() {
        assertEquals(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"),
                EnvBuilder.build(List.of(), List.of(), false));
    }

    @Test
    void ptySessionsGetTerm() {
        assertEquals(List.of("PATH=" + EnvBuilder.DEFAULT_PATH, "LANG=C.UTF-8", "TERM=xterm-256color"),
                EnvBuilder.build(List.of(), List.of(), true));
    }

    @Test
    void agentDefaultsOverrideTheMinimalOneAndTheRequestOverridesBoth() {
        List<String> env = EnvBuilder.build(List.of("LANG=en_US.UTF-8", "HOME=/agent", "A=agent"),
                List.of("A=request", "PATH=/opt/bin", "B="), true);
        assertEquals(List.of("PATH=/opt/bin", "LANG=en_US.UTF-8", "TERM=xterm-256color", "HOME=/agent",
                "A=request", "B="), env);
    }

    @Test
    void valuesMayContainEqualsSigns() {
        assertEquals("OPTS=a=b=c", EnvBuilder.build(List.of(), List.of("OPTS=x", "OPTS=a=b=c"), false).get(2));
    }

    @Test
    void malformedEntriesArePassedThroughForValidationToReject() {
        assertEquals("NOEQUALS", EnvBuilder.build(List.of(), List.of("NOEQUALS"), false).get(2));
    }
}
