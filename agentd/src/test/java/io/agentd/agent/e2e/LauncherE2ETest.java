package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Rlimit;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The launcher and the command line: help, usage errors, start-up failures, the log file. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherE2ETest {

    @Test
    void helpListsEveryOptionAndExitsZero() throws Exception {
        AgentProcess agent = AgentProcess.run("help", "--help");
        assertEquals(0, agent.awaitExit(Duration.ZERO));
        String help = agent.logText();
        for (String option : new String[] {"--port-name", "--port", "--listen", "--user", "--cwd", "--env",
                "--profile", "--drain-ms", "--grace-ms", "--high-water", "--stdin-limit", "--log-file",
                "--log-level"}) {
            assertTrue(help.contains(option + " "), option + " missing from:\n" + help);
        }
    }

    /**
     * JAVA_OPTS is split at spaces but not glob-expanded: -Xlog:gc* reaches the JVM as written even
     * where the working directory holds a file the pattern matches (it became -Xlog:gcX, which the
     * JVM refused).
     */
    @Test
    void javaOptsAreNotGlobExpanded() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "glob");
        Files.createFile(dir.resolve("-Xlog:gcX"));
        Path module = Path.of(System.getProperty("user.dir"));
        ProcessBuilder pb = new ProcessBuilder(module.resolve("../scripts/agentd").normalize().toString(), "--help")
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("AGENTD_HOME", module.resolve("target/dist").toString());
        pb.environment().put("JAVA_OPTS", "-Xlog:gc*");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("[gc") && out.contains("--listen"), out);
    }

    /**
     * A start that fails while the log goes to a file says why on standard error too: the operator
     * who started the agent from a shell saw exit 1 and nothing else (the line was in the file only).
     */
    @Test
    void aFailedStartWithALogFileSaysWhyOnStandardErrorToo() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "failed-start").toAbsolutePath();
        Path module = Path.of(System.getProperty("user.dir"));
        ProcessBuilder pb = new ProcessBuilder(module.resolve("../scripts/agentd").normalize().toString(),
                "--log-file", dir.resolve("agent.log").toString(), "--state-dir", dir.resolve("state").toString(),
                "--listen", "unix:" + dir.resolve("no-such-dir/agent.sock"));
        pb.environment().put("AGENTD_HOME", module.resolve("target/dist").toString());
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), err);
        assertTrue(err.contains("agentd: cannot serve the host: ") && err.contains("no-such-dir"), err);
        assertTrue(Files.readString(dir.resolve("agent.log")).contains("cannot serve the host: "), "and in the file");
    }

    /**
     * A start that fails when the log file could not be opened (a directory there): the log stayed on
     * standard error, and the failure is said there once, not once by the log and once more for a
     * file that never took the log.
     */
    @Test
    void aFailedStartWhoseLogFileDidNotOpenSaysWhyOnce() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "failed-start-nolog").toAbsolutePath();
        Path module = Path.of(System.getProperty("user.dir"));
        ProcessBuilder pb = new ProcessBuilder(module.resolve("../scripts/agentd").normalize().toString(),
                "--log-file", Files.createDirectory(dir.resolve("a-directory")).toString(),
                "--state-dir", dir.resolve("state").toString(),
                "--listen", "unix:" + dir.resolve("no-such-dir/agent.sock"));
        pb.environment().put("AGENTD_HOME", module.resolve("target/dist").toString());
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), err);
        assertTrue(err.contains("cannot open log file"), err);
        assertEquals(1, err.split("cannot serve the host: ", -1).length - 1, err);
    }

    /** An AGENTD_HOME that is no dist is named by the launcher, not left to the JVM's "could not find main class". */
    @Test
    void anAgentdHomeThatIsNoDistIsNamed() throws Exception {
        Path module = Path.of(System.getProperty("user.dir"));
        ProcessBuilder pb = new ProcessBuilder(module.resolve("../scripts/agentd").normalize().toString(), "--help")
                .redirectErrorStream(true);
        pb.environment().put("AGENTD_HOME", "/nonexistent/agentd");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertEquals("agentd: AGENTD_HOME=/nonexistent/agentd holds no lib/*.jar: not an agentd dist\n", out);
    }

    /** A device epoll refuses (/dev/null) is named with why, not as a Java exception's class. */
    @Test
    void aPortEpollRefusesIsNamedWithWhy() throws Exception {
        AgentProcess agent = AgentProcess.run("port-dev-null", "--port", "/dev/null");
        assertEquals(1, agent.awaitExit(Duration.ofSeconds(60)));
        assertTrue(agent.logText().contains("cannot serve the host: /dev/null cannot be served: epoll_ctl")
                && agent.logText().contains("not a tty or a virtio port")
                && !agent.logText().contains("OsException"), agent.logText());
    }

    @Test
    void aBadOptionIsAClearErrorAndExitTwo() throws Exception {
        AgentProcess agent = AgentProcess.run("bad-option", "--high-water", "lots");
        assertEquals(2, agent.awaitExit(Duration.ZERO));
        assertTrue(agent.logText().startsWith("agentd: --high-water takes a byte count"), agent.logText());
    }

    @Test
    void aSocketInADirectoryThatDoesNotExistIsAClearErrorAndExitOne() throws Exception {
        java.nio.file.Path socket = java.nio.file.Path.of("target", "e2e", "no-such-dir-" + System.nanoTime(),
                "agentd.sock").toAbsolutePath();
        AgentProcess agent = AgentProcess.run("no-dir", "--listen", "unix:" + socket);
        assertEquals(1, agent.awaitExit(Duration.ZERO));
        assertTrue(agent.logText().contains("cannot serve the host: " + socket.getParent()
                + ": no such file or directory (does the socket's directory exist?)")
                || agent.logText().contains("cannot serve the host: " + socket
                + ": no such file or directory (does the socket's directory exist?)"), agent.logText());
    }

    @Test
    void aMissingVirtioPortIsAClearErrorAndExitOne() throws Exception {
        AgentProcess agent = AgentProcess.run("no-port", "--port-name", "agentd-test-no-such-port");
        assertEquals(1, agent.awaitExit(Duration.ZERO));
        assertTrue(agent.logText().contains("cannot serve the host: no virtio port"), agent.logText());
        assertTrue(agent.logText().contains("outside a guest, serve a unix socket: agentd --listen unix:PATH"),
                "a bare start on a host says what serves there: " + agent.logText());
    }

    @Test
    void aSigtermWhileTheStartWaitsForItsPortEndsItAtOnceWith143() throws Exception {
        AgentProcess agent = AgentProcess.launchOnly("term-in-port-wait", "--port-name", "agentd-test-no-such-port",
                "--cgroup-root", "none");
        // The wait's first line: the signal handlers are in place by then, and the wait lasts 5 s.
        agent.awaitLog("waiting up to 5000 ms for it");
        agent.signal(15);
        assertEquals(143, agent.awaitExit(Duration.ofSeconds(3)), agent.logText());
        assertTrue(agent.logText().contains("agentd exits 143 (stopped by signal 15 while starting: no virtio port"),
                agent.logText());
    }

    @Test
    void aSocketAnotherAgentListensOnIsLeftAloneAndTheSecondAgentExitsOne() throws Exception {
        try (AgentProcess first = AgentProcess.start("first")) {
            Path socket = first.dir().resolve("agent.sock");
            AgentProcess second = AgentProcess.run("second", "--listen", "unix:" + socket);
            assertEquals(1, second.awaitExit(Duration.ZERO));
            assertTrue(second.logText().contains("is in use"), second.logText());
            try (HostConnection host = first.connect()) {
                host.expect(0, MessageType.CORE_READY);
            }
        }
    }

    /**
     * The agent's JVM takes no attach (jcmd, a JVMTI agent loaded at run time): its listener checks
     * only that the peer has the JVM's uid and gid, so a root session of the strict profile, with no
     * capability and no_new_privs, attached and could load a native agent into the agent, to run
     * with every capability the agent has (a read-only review did it with jcmd).
     */
    @Test
    void theAgentsJvmRefusesAnAttach() throws Exception {
        System.setProperty("sun.tools.attach.attachTimeout", "3000");
        try (AgentProcess agent = AgentProcess.start("no-attach")) {
            try (HostConnection host = agent.connect()) {
                host.expect(0, MessageType.CORE_READY);
            }
            com.sun.tools.attach.VirtualMachine vm;
            try {
                vm = com.sun.tools.attach.VirtualMachine.attach(Long.toString(agent.pid()));
            } catch (com.sun.tools.attach.AttachNotSupportedException | java.io.IOException refused) {
                return; // what an attach to the agent must come to
            }
            String version = vm.getSystemProperties().getProperty("java.vm.version");
            vm.detach();
            throw new AssertionError("attached to the agent's JVM (" + version + ")");
        }
    }

    /**
     * HotSpot raises its process's soft open-file limit to the hard one, and children inherit it:
     * every session ran with the hard limit (524288 on a Debian host) where the shell that started
     * the agent gave 1024. The launcher turns that off; the agent raises its own limit and gives its
     * sessions the one it was given, unless a request sets "nofile" itself.
     */
    @Test
    void sessionsStartWithTheOpenFileLimitTheAgentWasGiven() throws Exception {
        long hard = openFileLimits("self")[1];
        assertTrue(hard > 1000, "this test lowers the soft limit to 1000 under a hard limit of " + hard);
        try (AgentProcess agent = AgentProcess.startWithSoftOpenFileLimit("nofile", 1000)) {
            try (HostConnection host = agent.connect()) {
                host.expect(0, MessageType.CORE_READY);
                assertEquals(hard, openFileLimits(Long.toString(agent.pid()))[0],
                        "the agent's own soft limit, raised to its hard one");
                SessionResult given = host.run(1, Requests.sh("ulimit -Sn; ulimit -Hn"));
                assertEquals("1000\n" + hard + "\n", given.out(), given.err());
                ExecRequest sh = Requests.sh("ulimit -Sn; ulimit -Hn");
                SessionResult asked = host.run(2, new ExecRequest(sh.cmd(), sh.args(), List.of(), null, null, false,
                        24, 80, List.of(new Rlimit("nofile", 64, 128)), null));
                assertEquals("64\n128\n", asked.out(), asked.err());
            }
        }
    }

    /** The soft and hard "Max open files" of /proc/PID/limits. */
    private static long[] openFileLimits(String pid) throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc", pid, "limits"))) {
            if (line.startsWith("Max open files")) {
                String[] fields = line.substring("Max open files".length()).trim().split("\\s+");
                return new long[] {Long.parseLong(fields[0]), Long.parseLong(fields[1])};
            }
        }
        throw new AssertionError("no open-file limit in /proc/" + pid + "/limits");
    }

    /**
     * An agent whose log nobody reads (its standard error a pipe whose reader stopped: a console
     * stopped with XOFF, a suspended terminal). It used to block in a log line's write, with every
     * host's frames, and then a SIGTERM did not stop it either (a review); its lines now go through a
     * bounded queue that drops and counts what does not fit (LogLineQueue), so it serves on, far
     * past what the pipe and the queue hold, and a SIGTERM ends it with 128 + 15 (the queue's last
     * lines are waited for 2 s at most, then left).
     */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void anAgentWhoseLogNobodyReadsServesOnAndStopsOnSigterm() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target", "e2e")), "log-unread-")
                .toAbsolutePath();
        Path socket = dir.resolve("agent.sock");
        // Its output a pipe this test never reads: full after 64 KiB of lines; the queue after 256 KiB more.
        Process agent = new ProcessBuilder(AgentProcess.LAUNCHER.toString(), "--listen", "unix:" + socket,
                "--log-level", "debug", "--state-dir", dir.resolve("state").toString()).redirectErrorStream(true).start();
        try {
            for (int i = 0; i < 300 && !Files.exists(socket); i++) {
                Thread.sleep(100);
            }
            try (HostConnection host = HostConnection.open(socket)) {
                host.expect(0, MessageType.CORE_READY);
                // Each exec logs some 600 bytes at debug: 1500 of them are about 900 KiB of lines.
                for (int id = 1; id <= 1500; id++) {
                    host.exec(id, ExecRequest.of("true"));
                    assertEquals(0, host.collect(id, Duration.ofSeconds(10)).code(), "exec " + id);
                }
            }
            new ProcessBuilder("kill", "-TERM", Long.toString(agent.pid())).start().waitFor();
            assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "SIGTERM did not end an agent whose log nobody reads");
            assertEquals(143, agent.exitValue());
        } finally {
            agent.destroyForcibly();
        }
    }

    @Test
    void aMissingPortDeviceIsAClearErrorAndExitOne() throws Exception {
        AgentProcess agent = AgentProcess.run("no-device", "--port", "/dev/agentd-test-no-such-device");
        assertEquals(1, agent.awaitExit(Duration.ZERO));
        assertTrue(agent.logText().contains("/dev/agentd-test-no-such-device does not exist"), agent.logText());
    }

    /** What an agent started with {@code --log-file logFile} wrote to its console while it ran one `true`. */
    private static String consoleOfOneExec(String name, Path logFile) throws Exception {
        try (AgentProcess agent = AgentProcess.start(name, "--log-file", logFile.toString());
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            host.exec(1, ExecRequest.of("true"));
            host.collect(1, HostConnection.TIMEOUT);
            agent.close();
            return agent.logText();
        }
    }

    @Test
    void logFileTakesTheLogInsteadOfTheConsole() throws Exception {
        Path logFile = Files.createDirectories(Path.of("target", "e2e")).resolve("agent-" + System.nanoTime() + ".log")
                .toAbsolutePath();
        String console = consoleOfOneExec("log-file", logFile);
        assertTrue(console.isEmpty(), "console output: " + console);
        String log = Files.readString(logFile, StandardCharsets.UTF_8);
        Files.delete(logFile);
        assertTrue(log.contains("session 1 started: pid="), log);
        assertTrue(log.contains("session 1 exited: code=0"), log);
        assertTrue(log.matches("(?s).*session 1 started: pid=[^\\n]* number=\\d+\\n.*"),
                "the started line names the SESSION of agentctl ps: " + log);
    }

    /**
     * A log file that cannot be opened (a directory at its path, a read-only file system) leaves the
     * log on the console with one line saying so, and the agent serves. It used to exit 2 (options
     * refused), which the guest's init answers by powering the VM off, though a session could cause it.
     */
    @Test
    void aLogFileThatCannotBeOpenedLeavesTheLogOnTheConsoleAndTheAgentServes() throws Exception {
        Path directory = Files.createDirectories(Path.of("target", "e2e", "log-dir-" + System.nanoTime()))
                .toAbsolutePath();
        String console = consoleOfOneExec("log-file-dir", directory);
        assertTrue(console.contains("cannot open log file \"" + directory + "\" for appending: Is a directory; the log"
                + " stays on the console"), console);
        assertTrue(console.contains("session 1 exited: code=0"), console);
    }

    /**
     * A log file that opens for appending but takes no write (/proc/version, which root may open;
     * a full file system is the same to the agent): the log goes to standard error from the first
     * line, after one line there naming the file and the error, and the agent serves. logback's
     * FileAppender dropped every line into its status manager: the agent ran with no log at all.
     */
    @Test
    void aLogFileThatTakesNoWriteMovesTheLogToTheConsoleSayingSoOnce() throws Exception {
        Path file = Path.of("/proc/version");
        assumeTrue(Files.isWritable(file), "/proc/version opens for writing as root only");
        String console = consoleOfOneExec("log-file-unwritable", file);
        assertTrue(console.matches("(?s)[^\\n]* WARN  Logging: cannot write log file \"/proc/version\": [^;\\n]+; the log"
                + " goes to standard error from here on \\(nothing more is written to the file\\)\\n.*"), console);
        assertEquals(1, console.split("cannot write log file", -1).length - 1, console);
        assertTrue(console.contains(" serving unix:") && console.contains("session 1 exited: code=0"), console);
    }

    /**
     * A FIFO or a link at the log file's path leaves the log on the console too. A FIFO held the
     * agent in open(2) before it listened, for good (and init never restarts a hung agent); a link
     * had the agent append wherever it pointed.
     */
    @Test
    void aFifoOrALinkAtTheLogFilesPathLeavesTheLogOnTheConsoleAndTheAgentServes() throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "e2e", "log-fifo-" + System.nanoTime())).toAbsolutePath();
        Path fifo = dir.resolve("fifo.log");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path target = Files.writeString(dir.resolve("elsewhere"), "");
        Path link = Files.createSymbolicLink(dir.resolve("link.log"), target);
        for (Path at : new Path[] {fifo, link}) {
            String console;
            try (AgentProcess agent = AgentProcess.start("log-file-special", "--log-file", at.toString());
                    HostConnection host = agent.connect()) {
                host.expect(0, MessageType.CORE_READY);
                agent.close();
                console = agent.logText();
            }
            assertTrue(console.contains("log file \"" + at + "\" is not a regular file"), console);
        }
        assertEquals("", Files.readString(target), "nothing appended through the link");
    }
}
