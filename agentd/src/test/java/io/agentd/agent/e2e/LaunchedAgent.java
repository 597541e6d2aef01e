package io.agentd.agent.e2e;

import io.agentd.testsupport.RunningAgent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An agent started through the launcher the way an operator's script might: under a umask, maybe as
 * another user ({@code wrapper}, e.g. a setpriv command line), on a socket path the test chose.
 * {@link AgentProcess} is for agents started the standard way; this is for the tests of what the
 * agent does about its own surroundings (issue 14). Both run on the one fixture, {@link RunningAgent}
 * (here with {@code sh -c} as its launcher).
 */
final class LaunchedAgent implements AutoCloseable {
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));
    private static final Path LAUNCHER = MODULE.resolve("../scripts/agentd").normalize();
    private static final Path DIST = MODULE.resolve("target/dist");
    private static final Path SH = Path.of("/bin/sh");

    private final RunningAgent agent;

    private LaunchedAgent(RunningAgent agent) {
        this.agent = agent;
    }

    /** A fresh directory under target/e2e that other uids may look into. */
    static Path newDir(String name) throws IOException {
        Path dir = Files.createTempDirectory(Files.createDirectories(MODULE.resolve("target/e2e")), name + "-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    /** Runs {@code sh -c 'umask UMASK; exec WRAPPER launcher --listen unix:SOCKET ... OPTIONS'}; returns at once. */
    static LaunchedAgent launch(Path dir, String wrapper, Path socket, String umask, String... options)
            throws IOException {
        String script = "umask " + umask + "; exec " + wrapper + " \"$0\" \"$@\"";
        List<String> args = new ArrayList<>(List.of("-c", script,
                LAUNCHER.toString(), "--listen", "unix:" + socket, "--state-dir", dir.resolve("state").toString()));
        args.addAll(List.of(options));
        return new LaunchedAgent(RunningAgent.launch(SH, args,
                Map.of("AGENTD_HOME", DIST.toString(), "JAVA_OPTS", ""), socket, dir.resolve("agent.log")));
    }

    /** Returns once the socket path exists (the agent listens then); an exit or a timeout first is an error. */
    void awaitSocket() throws IOException, InterruptedException {
        agent.awaitSocket();
    }

    Process process() {
        return agent.process();
    }

    Path socket() {
        return agent.socket();
    }

    String logText() {
        return agent.logText();
    }

    @Override
    public void close() throws InterruptedException {
        agent.close();
    }
}
