package io.agentd.agent.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ExitStatusTest {

    @Test
    void normalExitKeepsItsCode() {
        assertEquals(new ExitStatus(0, null), ExitStatus.fromWaitStatus(0));
        assertEquals(new ExitStatus(42, null), ExitStatus.fromWaitStatus(42 << 8));
        assertEquals(new ExitStatus(255, null), ExitStatus.fromWaitStatus(255 << 8));
    }

    @Test
    void signalDeathIs128PlusSignal() {
        ExitStatus killed = ExitStatus.fromWaitStatus(9);
        assertEquals(new ExitStatus(137, 9), killed);
        assertEquals(new ExitStatus(139, 11), ExitStatus.fromWaitStatus(11 | 0x80), "core dumped");
        assertNull(ExitStatus.fromWaitStatus(0).signal());
    }

    @Test
    void siginfoOfWaitid() {
        assertEquals(new ExitStatus(3, null), ExitStatus.fromSiginfo(1, 3));
        assertEquals(new ExitStatus(143, 15), ExitStatus.fromSiginfo(2, 15));
        assertEquals(new ExitStatus(134, 6), ExitStatus.fromSiginfo(3, 6));
    }

    @Test
    void stopReportsAreNotExits() {
        assertThrows(IllegalArgumentException.class, () -> ExitStatus.fromWaitStatus((19 << 8) | 0x7f));
        assertThrows(IllegalArgumentException.class, () -> ExitStatus.fromSiginfo(5, 19));
    }

    @Test
    void waitForAPidThatIsNotOurChildFails() {
        assertThrows(IllegalStateException.class, () -> ExitStatus.waitFor(1));
    }
}
