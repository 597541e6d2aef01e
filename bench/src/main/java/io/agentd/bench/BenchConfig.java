package io.agentd.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * Sizes of one run. {@link #full} is issue 7's suite; {@link #smoke} runs every benchmark in
 * miniature so the test phase proves the harness works without timing anything.
 *
 * @param repo      the checkout (scripts/agentd lives under it)
 * @param nativeDir where the build put spawn-floor, pty-echo-floor and pty-relay-floor
 * @param workDir   sockets, logs and qemu-ga state for this run
 * @param agentArgs extra arguments for every agent launched (e.g. --log-level warn), for tuning runs
 * @param manySessions sessions alive at once in the many-sessions run (issue 17: 10,000)
 * @param ptyAgentWarmup echoes through the agent, in a session of their own, before its warm figure
 *                   is measured: enough for the JIT to have compiled the echo's path
 * @param ctlLaunches launches of each agentctl variant in {@link AgentctlStartBench}
 * @param incomingBytes the file {@link AgentctlStartBench} has agentctl receive (exec output, a cp download) for its peak RSS
 */
record BenchConfig(
        Path repo,
        Path nativeDir,
        Path workDir,
        List<String> agentArgs,
        int execRuns,
        int execWarmup,
        long throughputBytes,
        int sessions,
        int linesPerSession,
        int manySessions,
        int ptyRuns,
        int ptyWarmup,
        int ptyAgentWarmup,
        int readyLaunches,
        long stdinBytes,
        long slowStdinBytes,
        int ctlLaunches,
        long incomingBytes) {

    static BenchConfig full(Path repo, Path nativeDir, Path workDir, List<String> agentArgs) {
        return new BenchConfig(repo, nativeDir, workDir, agentArgs, 2000, 200, 1L << 30, 1000, 50, 10_000, 1000, 50, 2000, 5,
                1L << 30, 256L << 20, 20, 256L << 20);
    }

    static BenchConfig smoke(Path repo, Path nativeDir, Path workDir, List<String> agentArgs) {
        return new BenchConfig(repo, nativeDir, workDir, agentArgs, 30, 5, 8L << 20, 20, 5, 30, 30, 5, 20, 1,
                8L << 20, 4L << 20, 2, 4L << 20);
    }

    Path spawnFloor() {
        return nativeDir.resolve("spawn-floor");
    }

    /** The agent's native shim, from the dist scripts/agentd runs. */
    Path shimLibrary() {
        return repo.resolve("agentd/target/dist/native/libagentd-shim.so");
    }

    Path ptyEchoFloor() {
        return nativeDir.resolve("pty-echo-floor");
    }

    Path ptyRelayFloor() {
        return nativeDir.resolve("pty-relay-floor");
    }
}
