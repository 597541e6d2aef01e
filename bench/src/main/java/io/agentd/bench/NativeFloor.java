package io.agentd.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs one of the C baselines of native-shim/bench (built by this module's build next to the
 * classes) and reads its one-line summary "runs=N p50_us=X p99_us=Y mean_us=Z".
 */
final class NativeFloor {
    private static final Pattern SUMMARY =
            Pattern.compile("runs=(\\d+) p50_us=([0-9.]+) p99_us=([0-9.]+) mean_us=([0-9.]+)");

    record Result(int runs, double p50Micros, double p99Micros) {}

    private NativeFloor() {}

    /** {@code options}: spawn-floor's "--shim LIBRARY" (none for the other floors). */
    static Result run(Path binary, int runs, int warmup, String... options) throws IOException, InterruptedException {
        if (!Files.isExecutable(binary)) {
            throw new IOException(binary + " is missing: build the bench module (scripts/bench does)");
        }
        List<String> cmd = new ArrayList<>(List.of(binary.toString(), Integer.toString(runs), Integer.toString(warmup)));
        cmd.addAll(List.of(options));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BoundedRead.Output result = BoundedRead.readAll(p, Duration.ofSeconds(120), binary.getFileName().toString());
        String out = new String(result.stdout(), StandardCharsets.UTF_8).trim();
        if (result.exitCode() != 0) {
            throw new IOException(binary.getFileName() + " failed: " + out);
        }
        Matcher m = SUMMARY.matcher(out);
        if (!m.find()) {
            throw new IOException(binary.getFileName() + " printed no summary: " + out);
        }
        return new Result(Integer.parseInt(m.group(1)), Double.parseDouble(m.group(2)),
                Double.parseDouble(m.group(3)));
    }
}
