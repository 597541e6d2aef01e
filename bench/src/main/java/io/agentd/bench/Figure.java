package io.agentd.bench;

import java.util.Locale;

/**
 * One row of the results table: a measured value, the baseline it is compared with (NaN when the
 * figure has none), the target in words and whether it was met.
 *
 * @param correctness a count whose target is "all of them" at any size and speed (exits, lines,
 *                    bytes delivered, a matching sum), never a timing, rate or memory figure: the smoke
 *                    run (BenchSmokeTest) holds every such figure to its target, the others only to
 *                    having a value
 */
record Figure(String name, double value, Unit unit, double baseline, String baselineName, String target,
              Verdict verdict, boolean correctness) {

    enum Verdict { PASS, MISS, INFO }

    enum Unit {
        NANOS, BYTES, BYTES_PER_SECOND, COUNT;

        String format(double v) {
            if (Double.isNaN(v)) {
                return "-";
            }
            return switch (this) {
                case NANOS -> v < 1e6 ? String.format(Locale.ROOT, "%.1f us", v / 1e3)
                        : v < 1e9 ? String.format(Locale.ROOT, "%.2f ms", v / 1e6)
                        : String.format(Locale.ROOT, "%.2f s", v / 1e9);
                case BYTES -> String.format(Locale.ROOT, "%.1f MiB", v / (1 << 20));
                case BYTES_PER_SECOND -> String.format(Locale.ROOT, "%.0f MiB/s", v / (1 << 20));
                case COUNT -> String.format(Locale.ROOT, "%.0f", v);
            };
        }
    }

    static Figure info(String name, double value, Unit unit, double baseline, String baselineName) {
        return new Figure(name, value, unit, baseline, baselineName, "-", Verdict.INFO, false);
    }

    /** A timing, rate or memory figure against its target. */
    static Figure checked(String name, double value, Unit unit, double baseline, String baselineName,
                          String target, boolean met) {
        return new Figure(name, value, unit, baseline, baselineName, target, met ? Verdict.PASS : Verdict.MISS,
                false);
    }

    /** A count that must come out whole (see {@code correctness} above), against what it should be. */
    static Figure correctness(String name, double value, Unit unit, double expected, String expectedName,
                              String target, boolean met) {
        return new Figure(name, value, unit, expected, expectedName, target, met ? Verdict.PASS : Verdict.MISS,
                true);
    }

    /** A benchmark that could not run: a miss with the reason in its name. */
    static Figure failed(String benchmark, Exception why) {
        String reason = String.valueOf(why.getMessage()).lines().findFirst().orElse(why.toString());
        return new Figure(benchmark + " FAILED: " + reason, Double.NaN, Unit.COUNT, Double.NaN, "", "runs",
                Verdict.MISS, false);
    }

    /** value / baseline, NaN without a baseline. */
    double ratio() {
        return Double.isNaN(baseline) || baseline == 0 ? Double.NaN : value / baseline;
    }

    String valueText() {
        return unit.format(value);
    }

    String baselineText() {
        return Double.isNaN(baseline) ? "-" : unit.format(baseline) + " (" + baselineName + ")";
    }

    String ratioText() {
        double r = ratio();
        return Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%.2fx", r);
    }

    String verdictText() {
        return verdict.name().toLowerCase(Locale.ROOT);
    }
}
