package io.agentd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * 11. agentctl's start-up (issue 17): the wall time of {@code agentctl exec -- /bin/true} from the
 * shell's point of view (fork of the launcher to its exit), on its AppCDS archive, beside a bare JVM
 * started with the flags the launcher gives that command ({@link LauncherFlags}) and agentctl without the archive, launched in turns so a burst
 * of load hits all three; and agentctl's CPU time (user+sys) per run, which is what decides how
 * many agentctl processes started at once share two cores well (issue 15's 8-client figure).
 * scripts/agentctl-cds runs first (it keeps a valid archive and remakes a stale one, as scripts/bench
 * does before), so the figure is always the current build's with a valid archive; a copy of the
 * dist's jars without it is the baseline.
 *
 * <p>Also agentctl's memory when much comes in: the peak RSS (VmHWM) and wall time of {@code agentctl
 * exec -- cat FILE > DEST} and of {@code agentctl cp :FILE DEST} for a file of
 * {@link BenchConfig#incomingBytes}, each beside the same command on the JVM's default initial heap
 * ({@code -Xms0} after the launcher's {@code -Xms16m}), which is what the launcher gave them before
 * it set a small one: output and reads in flight outlive the young generation, so they fill the old
 * generation, and the RSS, until its first collection.
 */
final class AgentctlStartBench {
    private static final long TARGET_NANOS = 80_000_000L;
    /** Runs of each command receiving a file, per heap, alternated. */
    private static final int INCOMING_RUNS = 3;

    private AgentctlStartBench() {}

    static List<Figure> run(BenchConfig cfg, AgentProcess process) throws Exception {
        Path withArchive = cfg.repo().resolve("client/target/dist");
        Path without = copyDist(withArchive.resolve("lib"), cfg.workDir().resolve("agentctl-plain"));
        Path cdsLog = cfg.workDir().resolve("agentctl-cds.log");
        int cds = new ProcessBuilder(cfg.repo().resolve("scripts/agentctl-cds").toString(), "--dist",
                withArchive.toString()).redirectErrorStream(true).redirectOutput(cdsLog.toFile()).start().waitFor();
        if (cds != 0 || !Files.isRegularFile(withArchive.resolve("agentctl.jsa"))) {
            throw new IOException("scripts/agentctl-cds failed: " + Files.readString(cdsLog));
        }
        List<String> exec = List.of(cfg.repo().resolve("scripts/agentctl").toString(), "--socket",
                process.socket().toString(), "exec", "--", "/bin/true");
        List<String> bare = new ArrayList<>(List.of("java")); // the launcher's java: the one on PATH
        bare.addAll(LauncherFlags.of(Path.of(exec.get(0)), cfg.workDir(), exec.subList(1, exec.size())));
        bare.addAll(List.of("-cp", Path.of(BareJvm.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString(), BareJvm.class.getName()));

        Samples bareWall = new Samples(cfg.ctlLaunches());
        Samples archivedWall = new Samples(cfg.ctlLaunches());
        Samples plainWall = new Samples(cfg.ctlLaunches());
        Samples archivedCpu = new Samples(cfg.ctlLaunches());
        Samples plainCpu = new Samples(cfg.ctlLaunches());
        launch(List.of(cfg.repo().resolve("scripts/agentctl").toString(), "--socket", process.socket().toString(),
                "wait-ready", "--timeout", "60s"), withArchive, null, null);
        launch(exec, withArchive, null, null); // the agent's first exec and the page cache warmed, not counted
        launch(exec, without, null, null);
        for (int i = 0; i < cfg.ctlLaunches(); i++) {
            launch(bare, null, bareWall, null);
            launch(exec, withArchive, archivedWall, archivedCpu);
            launch(exec, without, plainWall, plainCpu);
        }
        int n = cfg.ctlLaunches();
        long archived = archivedWall.percentile(50);
        Path source = cfg.workDir().resolve("incoming.bin");
        RandomFile.write(source, cfg.incomingBytes());
        Path dest = cfg.workDir().resolve("incoming.back");
        String socket = process.socket().toString();
        String size = (cfg.incomingBytes() >> 20) + " MiB, median of " + INCOMING_RUNS;
        List<Figure> figures = new ArrayList<>(List.of(
                Figure.checked("agentctl exec -- /bin/true, AppCDS archive, median of " + n, archived,
                        Figure.Unit.NANOS, bareWall.percentile(50), "bare JVM, launcher flags", "<= 80 ms",
                        archived <= TARGET_NANOS),
                Figure.info("agentctl exec -- /bin/true, no archive, median of " + n, plainWall.percentile(50),
                        Figure.Unit.NANOS, bareWall.percentile(50), "bare JVM, launcher flags"),
                Figure.info("agentctl exec -- /bin/true CPU (user+sys), AppCDS archive, median of " + n,
                        archivedCpu.percentile(50), Figure.Unit.NANOS, plainCpu.percentile(50), "no archive")));
        figures.addAll(incoming(cfg, "agentctl exec -- cat FILE > DEST, " + size, source, dest,
                List.of("--socket", socket, "exec", "--", "cat", source.toString()), dest));
        figures.addAll(incoming(cfg, "agentctl cp :FILE DEST, " + size, source, dest,
                List.of("--socket", socket, "cp", ":" + source, dest.toString()), null));
        return figures;
    }

    /**
     * {@code agentctl ARGS} run {@link #INCOMING_RUNS} times with the launcher's heap and as many on the JVM's
     * default initial heap, alternated: their peak RSS and wall time. Each run must leave {@code dest}
     * equal to {@code source}; {@code stdoutTo}, when given, receives the command's output.
     */
    private static List<Figure> incoming(BenchConfig cfg, String name, Path source, Path dest, List<String> args,
                                         Path stdoutTo) throws Exception {
        Samples launcherPeak = new Samples(INCOMING_RUNS);
        Samples launcherWall = new Samples(INCOMING_RUNS);
        Samples defaultPeak = new Samples(INCOMING_RUNS);
        Samples defaultWall = new Samples(INCOMING_RUNS);
        for (int i = 0; i < INCOMING_RUNS; i++) {
            measured(cfg, args, stdoutTo, source, dest, "", launcherWall, launcherPeak);
            measured(cfg, args, stdoutTo, source, dest, "-Xms0", defaultWall, defaultPeak);
        }
        String defaultHeap = "the JVM's default initial heap";
        return List.of(
                Figure.info(name + ": peak RSS", launcherPeak.percentile(50), Figure.Unit.BYTES,
                        defaultPeak.percentile(50), defaultHeap),
                Figure.info(name + ": wall time", launcherWall.percentile(50), Figure.Unit.NANOS,
                        defaultWall.percentile(50), defaultHeap));
    }

    /**
     * One {@code agentctl ARGS} with {@code javaOpts} in AGENTCTL_JAVA_OPTS: adds its wall time and its
     * peak RSS, the last VmHWM read before it exits (scripts/agentctl execs java, so the process is the
     * JVM), and checks that {@code dest} arrived whole.
     */
    private static void measured(BenchConfig cfg, List<String> args, Path stdoutTo, Path source, Path dest,
                                 String javaOpts, Samples wall, Samples peak) throws Exception {
        Files.deleteIfExists(dest);
        List<String> command = new ArrayList<>(List.of(cfg.repo().resolve("scripts/agentctl").toString()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(stdoutTo == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(stdoutTo.toFile()))
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("AGENTCTL_JAVA_OPTS", javaOpts);
        long t0 = System.nanoTime();
        Process p = pb.start();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(120);
        long hwm = 0;
        while (!p.waitFor(10, TimeUnit.MILLISECONDS)) {
            try {
                hwm = Math.max(hwm, ProcStatus.of(p.pid()).peakRssBytes());
            } catch (IOException exited) {
                // gone between waitFor and the read: the last read stands
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 120 s");
            }
        }
        long elapsed = System.nanoTime() - t0;
        if (p.exitValue() != 0 || Files.mismatch(source, dest) != -1) {
            throw new IOException(String.join(" ", command) + " (AGENTCTL_JAVA_OPTS='" + javaOpts + "') exited "
                    + p.exitValue() + (p.exitValue() == 0 ? " and left a copy that differs" : ""));
        }
        wall.add(elapsed);
        peak.add(hwm);
    }

    /**
     * Runs {@code command} to its end with AGENTCTL_HOME at {@code home}, adding its wall time and
     * its CPU time: the children's user+sys this JVM has reaped (/proc/self/stat cutime and
     * cstime), which grow by the launcher's and its JVM's when waitFor reaps it.
     */
    private static void launch(List<String> command, Path home, Samples wall, Samples cpu) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        if (home != null) {
            pb.environment().put("AGENTCTL_HOME", home.toString());
        }
        long cpuBefore = reapedChildrenCpuNanos();
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in 60 s");
        }
        long elapsed = System.nanoTime() - t0;
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited " + p.exitValue());
        }
        if (wall != null) {
            wall.add(elapsed);
        }
        if (cpu != null) {
            cpu.add(reapedChildrenCpuNanos() - cpuBefore);
        }
    }

    private static long reapedChildrenCpuNanos() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        // After the parenthesised command: state is field 3, cutime field 16, cstime field 17 (ticks of 10 ms).
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[13]) + Long.parseLong(f[14])) * 10_000_000L;
    }

    /** A copy of the dist's jars (their times kept) in {@code home}/lib; returns {@code home}. */
    private static Path copyDist(Path lib, Path home) throws IOException {
        Files.createDirectories(home.resolve("lib"));
        try (Stream<Path> jars = Files.list(lib)) {
            for (Path jar : (Iterable<Path>) jars::iterator) {
                Files.copy(jar, home.resolve("lib").resolve(jar.getFileName()), StandardCopyOption.COPY_ATTRIBUTES,
                        StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return home;
    }
}
