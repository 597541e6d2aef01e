package io.agentd.bench;

/** The floor of {@link AgentctlStartBench}: a JVM that starts, runs an empty main and exits. */
public final class BareJvm {
    private BareJvm() {}

    public static void main(String[] args) {}
}
