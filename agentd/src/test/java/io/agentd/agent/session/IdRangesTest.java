package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The ids of a lost host's sessions in its one line: runs, sorted, and a bounded length. */
class IdRangesTest {
    @Test
    void runsOfConsecutiveIdsAreRangesInOrder() {
        assertEquals("1-3, 5, 9-10", IdRanges.of(new long[] {10, 2, 9, 5, 1, 3}));
        assertEquals("7", IdRanges.of(new long[] {7}));
        assertEquals("", IdRanges.of(new long[0]));
    }

    @Test
    void pastTheFirstRunsTheRestAreCounted() {
        long[] odd = new long[1000];
        for (int i = 0; i < odd.length; i++) {
            odd[i] = 2L * i + 1;
        }
        String text = IdRanges.of(odd);
        assertEquals("1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39, … ("
                + (1000 - IdRanges.MAX_RUNS) + " more)", text);
    }
}
