package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The backpressure decisions alone: output pauses at the mark, resumes at half; input at four times. */
class QueueWaterMarksTest {
    private final QueueWaterMarks marks = new QueueWaterMarks(1000);

    @Test
    void outputStopsAtTheMarkAndResumesOnceAtHalfOfIt() {
        marks.grew(999);
        assertTrue(marks.outputAllowed());
        marks.grew(1000);
        assertFalse(marks.outputAllowed());
        assertFalse(marks.outputShouldResume(501), "above half the mark: still paused");
        assertTrue(marks.outputShouldResume(500));
        assertTrue(marks.outputAllowed());
        assertFalse(marks.outputShouldResume(0), "one resume per pause");
    }

    @Test
    void inputPausesAtFourTimesTheMarkAndResumesUnderTheMark() {
        assertFalse(marks.inputShouldPause(3999, false));
        assertTrue(marks.inputShouldPause(4000, false));
        assertFalse(marks.inputShouldPause(5000, false), "one pause per episode");
        assertFalse(marks.inputShouldResume(1000));
        assertTrue(marks.inputShouldResume(999));
        assertFalse(marks.inputPaused());
    }

    @Test
    void pastTheAgentsBudgetInputPausesAtTheMark() {
        assertFalse(marks.inputShouldPause(999, true));
        assertTrue(marks.inputShouldPause(1000, true));
        assertTrue(marks.inputShouldResume(999));
    }

    @Test
    void aHostThatGoesAwayTakesItsInputPauseWithIt() {
        assertTrue(marks.inputShouldPause(4000, false));
        marks.hostGone();
        assertFalse(marks.inputPaused());
        assertFalse(marks.inputShouldResume(0));
    }
}
