package io.agentd.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * BenchMain's command line. A mistake in it is a {@link UsageError} (exit 2), never a run of some
 * other set of benchmarks: a misspelt {@code --only} name once ran nothing and exited 0.
 */
record BenchArgs(Path repo, Path nativeDir, boolean smoke, List<String> only,
                 ConcurrencyBench.Workload workload, Path markdown, List<String> agentArgs) {

    /** A command line BenchMain cannot run; the message says what was wrong. */
    static final class UsageError extends Exception {
        UsageError(String message) {
            super(message);
        }
    }

    static BenchArgs parse(String[] args) throws UsageError {
        Path repo = Path.of(".");
        Path nativeDir = null;
        boolean smoke = false;
        List<String> only = BenchMain.ALL;
        ConcurrencyBench.Workload workload = ConcurrencyBench.Workload.PERL;
        Path markdown = null;
        List<String> agentArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            switch (option) {
                case "--repo" -> repo = Path.of(value(args, ++i, option));
                case "--native" -> nativeDir = Path.of(value(args, ++i, option));
                case "--smoke" -> smoke = true;
                case "--only" -> only = benchmarks(value(args, ++i, option));
                case "--concurrency-workload" -> workload = workload(value(args, ++i, option));
                case "--markdown" -> markdown = Path.of(value(args, ++i, option));
                case "--agent-arg" -> agentArgs.add(value(args, ++i, option));
                default -> throw new UsageError("unknown argument " + option);
            }
        }
        repo = repo.toAbsolutePath().normalize();
        if (nativeDir == null) {
            nativeDir = repo.resolve("bench/target");
        }
        return new BenchArgs(repo, nativeDir, smoke, only, workload, markdown, List.copyOf(agentArgs));
    }

    private static String value(String[] args, int i, String option) throws UsageError {
        if (i >= args.length) {
            throw new UsageError(option + " needs a value");
        }
        return args[i];
    }

    private static List<String> benchmarks(String names) throws UsageError {
        List<String> only = List.of(names.split(",", -1)); // -1: an empty name is one too, not skipped
        List<String> unknown = only.stream().filter(n -> !BenchMain.ALL.contains(n)).map(n -> "'" + n + "'").toList();
        if (!unknown.isEmpty()) {
            throw new UsageError("--only: no benchmark named " + String.join(", ", unknown)
                    + " (known: " + String.join(",", BenchMain.ALL) + ")");
        }
        return only;
    }

    private static ConcurrencyBench.Workload workload(String name) throws UsageError {
        try {
            return ConcurrencyBench.Workload.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageError("--concurrency-workload: " + name + " is neither perl nor sh");
        }
    }
}
