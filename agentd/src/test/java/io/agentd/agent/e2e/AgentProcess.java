package io.agentd.agent.e2e;

import io.agentd.protocol.MessageType;
import io.agentd.testsupport.RunningAgent;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A running agent for the end-to-end tests: the shared fixture ({@link RunningAgent}, the launcher
 * scripts/agentd with AGENTD_HOME=target/dist, exactly as deployed) in its own directory under
 * target/e2e, with the tests' way of talking to it ({@link HostConnection}). Being a separate process
 * keeps its subreaper role and its signals away from the test JVM. Its log goes to agent.log there.
 */
final class AgentProcess implements AutoCloseable {
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));
    static final Path LAUNCHER = MODULE.resolve("../scripts/agentd").normalize();
    private static final Path DIST = MODULE.resolve("target/dist");

    private final RunningAgent agent;
    private final Path dir;

    private AgentProcess(RunningAgent agent, Path dir) {
        this.agent = agent;
        this.dir = dir;
    }

    /**
     * JVM options for a test that looks into the agent's heap with jcmd ({@link LiveObjects}, GC.run):
     * the launcher turns the attach mechanism off (docs/SECURITY.md), JAVA_OPTS come after its
     * options and win.
     */
    static final String ATTACHABLE = "-XX:-DisableAttachMechanism";

    /**
     * Starts an agent on a fresh socket with the given extra options; returns once its socket is
     * there. Its session group records go to its own directory unless the options name one
     * (--state-dir): agents that shared one would see each other's records.
     */
    static AgentProcess startWithJavaOpts(String name, String javaOpts, String... options)
            throws IOException, InterruptedException {
        return startWithEnv(name, env(javaOpts), options);
    }

    /**
     * As {@link #start}, with LANG, LC_ALL and LC_CTYPE removed from the launcher's environment, as
     * the guest's init, a systemd unit or a minimal container start it.
     */
    static AgentProcess startWithNoLocale(String name, String... options) throws IOException, InterruptedException {
        Map<String, String> env = new HashMap<>(env(null));
        for (String locale : List.of("LANG", "LC_ALL", "LC_CTYPE")) {
            env.put(locale, null); // removed
        }
        return startWithEnv(name, env, options);
    }

    /**
     * As {@link #start}, the launcher run with a soft open-file limit of {@code soft} (the hard one
     * as the test JVM's), as a shell with `ulimit -Sn` would start it: the test JVM's own soft limit
     * is HotSpot's raised one.
     */
    static AgentProcess startWithSoftOpenFileLimit(String name, long soft, String... options)
            throws IOException, InterruptedException {
        return startWrapped(name, "launch-with-ulimit", "ulimit -Sn " + soft + " || exit 97", options);
    }

    /**
     * As {@link #start}, the launcher run with {@code signals} (names, as trap takes them) ignored,
     * as a script's `agentd &` (SIGINT, SIGQUIT) or nohup (SIGHUP) starts it.
     */
    static AgentProcess startWithSignalsIgnored(String name, String signals, String... options)
            throws IOException, InterruptedException {
        return startWrapped(name, "launch-with-signals-ignored", "trap '' " + signals, options);
    }

    /** As {@link #start}, the launcher exec'd by a shell script {@code wrapperName} that runs {@code preamble} first. */
    private static AgentProcess startWrapped(String name, String wrapperName, String preamble, String... options)
            throws IOException, InterruptedException {
        Path dir = newDir(name);
        Path wrapper = dir.resolve(wrapperName);
        Files.writeString(wrapper, "#!/bin/sh\n" + preamble + "\nexec '" + LAUNCHER + "' \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        return startWithEnv(dir, wrapper, env(null), options);
    }

    /**
     * The agent in a mount namespace of its own, with a devpts instance of at most {@code max} PTYs
     * (needs root: unshare and mount), so that running out of PTYs, and every PTY given back, is real.
     */
    static AgentProcess startWithOwnDevpts(String name, int max, String... options)
            throws IOException, InterruptedException {
        Path dir = newDir(name);
        Path wrapper = dir.resolve("launch-own-devpts");
        Files.writeString(wrapper, "#!/bin/sh\nexec unshare -m --propagation private sh -c 'mount -t devpts -o newinstance,max="
                + max + ",ptmxmode=0666 devpts /dev/pts && mount --bind /dev/pts/ptmx /dev/ptmx && exec \"$0\" \"$@\"' '"
                + LAUNCHER + "' \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        return startWithEnv(dir, wrapper, env(null), options);
    }

    private static AgentProcess startWithEnv(String name, Map<String, String> env, String... options)
            throws IOException, InterruptedException {
        return startWithEnv(newDir(name), LAUNCHER, env, options);
    }

    private static AgentProcess startWithEnv(Path dir, Path launcher, Map<String, String> env, String... options)
            throws IOException, InterruptedException {
        List<String> args = new ArrayList<>();
        if (!List.of(options).contains("--state-dir")) {
            args.addAll(List.of("--state-dir", dir.resolve("state").toString()));
        }
        args.addAll(List.of(options));
        AgentProcess agent = new AgentProcess(RunningAgent.listening(launcher, dir.resolve("agent.sock"), args,
                env, dir.resolve("agent.log")), dir);
        agent.agent.awaitSocket();
        return agent;
    }

    /** Starts an agent serving a character device or tty (--port); returns at once. */
    static AgentProcess startOnPort(String name, Path port) throws IOException {
        Path dir = newDir(name);
        return launch(dir, List.of("--port", port.toString(), "--state-dir", dir.resolve("state").toString()));
    }

    /** Launches the agent and returns at once, without waiting for anything. */
    static AgentProcess launchOnly(String name, String... options) throws IOException {
        return launch(newDir(name), List.of(options));
    }

    /** Runs the launcher to completion (for options that make it exit); output is in the log. */
    static AgentProcess run(String name, String... options) throws IOException, InterruptedException {
        AgentProcess agent = launch(newDir(name), List.of(options));
        agent.awaitExit(RunningAgent.START_TIMEOUT);
        return agent;
    }

    private static Path newDir(String name) throws IOException {
        return Files.createTempDirectory(Files.createDirectories(MODULE.resolve("target/e2e")), name + "-");
    }

    private static AgentProcess launch(Path dir, List<String> options) throws IOException {
        return new AgentProcess(RunningAgent.launch(LAUNCHER, options, env(null), dir.resolve("agent.sock"),
                dir.resolve("agent.log")), dir);
    }

    private static Map<String, String> env(String javaOpts) {
        return Map.of("AGENTD_HOME", DIST.toString(), "JAVA_OPTS", javaOpts == null ? "" : javaOpts);
    }

    static AgentProcess start(String name, String... options) throws IOException, InterruptedException {
        return startWithJavaOpts(name, null, options);
    }

    HostConnection connect() throws IOException {
        try {
            return agent.connect(HostConnection::open);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** A blocking socket to the agent, read only as far as the test reads it (core.ready first). */
    SocketChannel connectRaw() throws IOException {
        try {
            return agent.connect(socket -> {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(socket));
                return ch;
            });
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** A new host connection, past the agent's core.ready. */
    HostConnection connectReady() throws IOException, InterruptedException {
        HostConnection host = connect();
        host.expect(0, MessageType.CORE_READY);
        return host;
    }

    long pid() {
        return agent.pid();
    }

    boolean isAlive() {
        return agent.isAlive();
    }

    /** Sends a signal to the agent process (by number), as an operator or init would. */
    void signal(int signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new AssertionError("kill -" + signal + " " + pid() + " failed");
        }
    }

    /** Waits for the agent to exit; returns its exit status. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!agent.waitForExit(timeout)) {
            throw new AssertionError("agent still running after " + timeout + ":\n" + logText());
        }
        return agent.process().exitValue();
    }

    String logText() {
        return agent.logText();
    }

    /**
     * The log once it holds {@code fragment}: the agent may log an event after the host saw its
     * effect (a refused connection is closed first, then logged), and its log lines are written by a
     * thread of their own.
     */
    String awaitLog(String fragment) throws InterruptedException {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        String log;
        while (!(log = agent.logSoFar()).contains(fragment)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no log line with \"" + fragment + "\":\n" + log);
            }
            Thread.sleep(20);
        }
        return log;
    }

    Path dir() {
        return dir;
    }

    @Override
    public void close() throws InterruptedException {
        agent.close(); // SIGTERM: the agent's own shutdown; SIGKILL after 15 s
    }
}
