package io.agentd.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a miniature run's figures must show: every figure a value, and every correctness figure (a
 * count whose target is all of them: exits, lines, bytes, sums) its target met. Timings, rates and
 * memory are not held to their targets: a miniature run on a shared machine says nothing of them.
 */
final class SmokeCheck {
    /** Checked figures whose honest value may be 0 (a growth that did not happen). */
    private static final Set<String> ZERO_IS_A_MEASUREMENT =
            Set.of("stdin to a slow reader: agent RSS growth over idle");

    private SmokeCheck() {}

    /** One line per figure that fails the check; empty when all pass. */
    static List<String> faults(List<Figure> figures) {
        List<String> faults = new ArrayList<>();
        for (Figure f : figures) {
            // CPU times are read in 10 ms ticks, so a miniature run may honestly use 0 of them; and an
            // agent whose RSS did not rise above its idle sample grew by 0 (seen in CI: idle 54.5 MiB).
            boolean zeroIsMeasured = f.verdict() == Figure.Verdict.INFO || ZERO_IS_A_MEASUREMENT.contains(f.name());
            boolean measured = zeroIsMeasured ? f.value() >= 0 : f.value() > 0;
            if (!measured) {
                faults.add("no value for " + f.name());
            }
            if (f.correctness() && f.verdict() != Figure.Verdict.PASS) {
                faults.add(f.name() + ": " + f.valueText() + " of " + f.baselineText() + ", target " + f.target());
            }
        }
        return faults;
    }
}
