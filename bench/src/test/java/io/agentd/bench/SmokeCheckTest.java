package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class SmokeCheckTest {

    @Test
    void aCorrectnessFigureShortOfAllFailsTheSmokeRunWhateverItsName() {
        Figure short1 = Figure.correctness("30 sessions: exit code and output right", 29, Figure.Unit.COUNT, 30,
                "requested", "all", false);
        Figure untyped = Figure.correctness("30 sessions: refused starts that are typed resource_limit", 1,
                Figure.Unit.COUNT, 3, "refused", "all", false);

        assertEquals(List.of("30 sessions: exit code and output right: 29 of 30 (requested), target all",
                        "30 sessions: refused starts that are typed resource_limit: 1 of 3 (refused), target all"),
                SmokeCheck.faults(List.of(short1, untyped)));
    }

    @Test
    void aMissedTimingTargetIsNoFaultInMiniatureButAMissingValueIs() {
        Figure slow = Figure.checked("exec /bin/true p50 vs C floor", 5e6, Figure.Unit.NANOS, 1e6, "C floor",
                "<= 1.5x floor", false);
        Figure none = Figure.checked("PTY echo p50, warm", 0, Figure.Unit.NANOS, 1e4, "local PTY",
                "<= 5x local PTY", true);

        assertEquals(List.of("no value for PTY echo p50, warm"), SmokeCheck.faults(List.of(slow, none)));
    }
}
