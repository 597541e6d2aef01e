package io.agentd.agent;

import io.agentd.agent.fs.FsSettings;
import io.agentd.agent.fs.FsWorkers;
import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.session.SessionGroupRecords;
import io.agentd.agent.session.cgroup.CgroupRoot;
import io.agentd.agent.session.cgroup.SessionCgroups;
import io.agentd.agent.session.Sessions;
import io.agentd.agent.spawn.OomScoreAdj;
import io.agentd.agent.spawn.SessionOpenFiles;
import io.agentd.agent.spawn.Spawner;
import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.sys.ShimLibrary;
import io.agentd.agent.transport.DevicePort;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.NoVirtioPortException;
import io.agentd.agent.transport.Transport;
import io.agentd.agent.transport.UnixSocketServer;
import io.agentd.agent.transport.VsockServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * agentd's entry point: options, logging, then the event loop until shutdown. Exit status: 0 after a
 * shutdown a host asked for (core.shutdown, also when a signal had begun it), 128+N after one signal N
 * began with no host asking (143 for SIGTERM, 130 for SIGINT, as for a process the signal ended), 1
 * when the agent cannot start (no port, socket in use,
 * ...) or fails, 2 for a bad command line, {@value FatalExit#STATUS} after a fatal {@link Error} (the
 * guest's init then starts a new agent, which kills the sessions this one left running: see
 * {@link SessionGroupRecords}). The guest's init powers the VM off on 0 only: any root session can
 * signal the agent (docs/SECURITY.md), which must restart it, not end the VM.
 */
public final class Main {
    private static final Path SYS_VIRTIO_PORTS = Path.of("/sys/class/virtio-ports");
    private static final Path DEV = Path.of("/dev");
    private static final long CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, fixed by the Linux ABI

    private Main() {}

    public static void main(String[] args) {
        long mainStartMono = System.nanoTime(); // libc is not loaded yet (--help must not need it)
        AgentOptions options;
        try {
            options = AgentOptions.parse(args);
            if (options.help()) {
                System.out.print(AgentOptions.HELP);
                System.exit(0);
            }
            Logging.configure(options.logLevel(), options.logFile());
        } catch (AgentOptions.UsageException | IllegalArgumentException e) {
            System.err.println("agentd: " + e.getMessage());
            System.err.println("Try 'agentd --help'.");
            System.exit(2);
            return;
        }
        Logger log = LoggerFactory.getLogger(Main.class);
        FatalExit.prepare();
        String heapShortfall = HeapBudget.shortfall(options, Runtime.getRuntime().maxMemory());
        if (heapShortfall != null) {
            log.warn("{}", heapShortfall);
        }
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            if (e instanceof Error error) {
                FatalExit.now(log, error);
            }
            log.error("thread {} failed", thread.getName(), e);
        });
        ClassPathJars.openAllSoon(); // an Error on its thread ends the agent, as on any other
        // Every libc call and the spawn are in native-shim's library: without it the agent can do nothing.
        try {
            ShimLibrary.load();
        } catch (IllegalStateException e) {
            log.error("cannot start: {}", e.getMessage());
            Logging.stop();
            System.exit(1);
            return;
        }
        int status;
        try {
            long mainStart = bootNanos() - (System.nanoTime() - mainStartMono);
            status = run(options, new Agent.StartTimes(processStartNanos(), mainStart), log);
        } catch (Error e) {
            FatalExit.now(log, e);
            return;
        } catch (Exception e) {
            log.error("agentd failed", e);
            status = 1;
        }
        Logging.stop();
        System.exit(status);
    }

    private static int run(AgentOptions options, Agent.StartTimes times, Logger log) throws Exception {
        // The launcher sets C.UTF-8; a JVM started some other way with no UTF-8 locale cannot name
        // files past ASCII, and every fs request for one would be refused without this line's reason.
        String fileNameCharset = System.getProperty("sun.jnu.encoding", "");
        if (!fileNameCharset.equalsIgnoreCase("UTF-8")) {
            log.warn("file names are encoded as {}, not UTF-8 (no UTF-8 locale): paths past ASCII will be refused;"
                    + " start the agent with LC_ALL=C.UTF-8, as scripts/agentd does", fileNameCharset);
        }
        // Non-dumpable before any session exists: a session without CAP_SYS_PTRACE (any session in the
        // strict profile, any other user) can then neither ptrace the agent nor read its memory or
        // environment under /proc, whatever its uid (docs/SECURITY.md).
        if (Os.libc().prctl(LibC.PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
            log.warn("cannot make the agent non-dumpable ({}): sessions of its uid may ptrace it",
                    Os.errnoName(Os.errno()));
        }
        if (Os.libc().prctl(LibC.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
            log.warn("cannot become a child subreaper ({}): orphans re-parent to init", Os.errnoName(Os.errno()));
        }
        // Before any session, after the agent made itself non-dumpable (its /proc/self files are then
        // root's, as its spawns' children find them): a session that fills the guest's memory is what
        // the kernel's OOM killer takes, not the agent that serves every host (OomScoreAdj).
        OomScoreAdj oomScoreAdj = OomScoreAdj.setForAgent(options.oomScoreAdj());
        // First, before the agent opens anything for a session (its sessions' pipes and PTYs need it).
        SessionOpenFiles childrenOpenFiles = SessionOpenFiles.raiseForAgent();
        for (String problem : options.sessionDefaults().unusableNow(UserDb.system())) {
            log.warn("{}", problem);
        }
        // Before anything is served: the sessions of an agent that died must not outlive it.
        SessionGroupRecords groupRecords = SessionGroupRecords.open(options.stateDir());
        groupRecords.killLeftovers();
        CgroupRoot cgroupRoot = CgroupRoot.open(options.cgroupRoot(), options.sessionsMemoryMax());
        if (cgroupRoot != null) {
            cgroupRoot.killLeftovers();
        }
        SessionCgroups cgroups = new SessionCgroups(cgroupRoot);
        Spawner spawner;
        try {
            spawner = Spawner.fromSystemProperty();
            spawner.startChildrenWith(childrenOpenFiles);
            spawner.startChildrenWith(oomScoreAdj);
        } catch (IllegalStateException e) {
            log.error("cannot start commands: {}", e.getMessage());
            return 1;
        }
        try (EventLoop loop = new EventLoop()) {
            Sessions sessions = new Sessions(loop, spawner, options.sessionDefaults());
            sessions.setRetention(options.retention());
            // Session cgroups replace the group records: their leftovers are found without them.
            sessions.setGroupRecords(cgroups.enabled() ? SessionGroupRecords.none() : groupRecords);
            sessions.setCgroups(cgroups);
            Agent agent = new Agent(loop, sessions, times, version(),
                    new Agent.LinkSettings(options.highWater(), options.stallWarnMillis(), options.frameTimeoutMillis()), options.maxConnections());
            // Its threads are made at the first fs request, by the loop thread (FsWorkers.run).
            FsWorkers fsWorkers = new FsWorkers(FsSettings.DEFAULTS.threads());
            agent.serveFs(fsWorkers, FsSettings.DEFAULTS, loop::execute);
            // Before the sockets are published: a SIGTERM from the moment a host (or init) can see the agent
            // ends it through its shutdown, which removes what it published, not through the JVM's default.
            int[] stoppedBySignal = {0}; // the signal that began the shutdown (loop thread, which is this one)
            SignalDuringStart signalDuringStart = new SignalDuringStart(Thread.currentThread());
            SignalStopDeadline stopDeadline = new SignalStopDeadline();
            // HUP too: a terminal that closes (agentd started with & in a shell) ended the JVM at
            // once by its default, with no line, the socket and the sessions left behind.
            StopSignals.handle(signal -> {
                // Queued before the start is interrupted: a start that then fails closes the loop.
                loop.execute(() -> {
                    stopDeadline.begun();
                    if (agent.shutdown("SIG" + StopSignals.name(signal))) {
                        stoppedBySignal[0] = signal;
                    }
                });
                signalDuringStart.received(signal);
                stopDeadline.awaitOrHalt(signal);
            });
            List<Transport> transports = new ArrayList<>();
            try {
                for (Transport t : transports(loop, options, agent)) {
                    t.start();
                    transports.add(t);
                }
            } catch (java.nio.file.attribute.UserPrincipalNotFoundException e) {
                // fixed by the command line: a refusal of its options (2), which init does not retry for
                // ever, even when a signal came meanwhile (the group is looked up after the port's wait)
                signalDuringStart.startOver();
                stopDeadline.begun(); // exiting: a signal's handler has nothing to wait for
                startFailed(log, "cannot serve the host: --socket-group " + LogText.quote(e.getName()) + ": no such group");
                transports.forEach(Transport::close);
                return 2;
            } catch (IOException | RuntimeException e) {
                int signal = signalDuringStart.startOver();
                stopDeadline.begun();
                transports.forEach(Transport::close);
                if (signal != 0) { // most often the wait the signal ended; the failure is said either way
                    log.info("agentd exits {} (stopped by signal {} while starting: {})", 128 + signal, signal,
                            startFailure(e));
                    return 128 + signal;
                }
                String why = startFailure(e);
                if (options.port() == null && options.listen().isEmpty() && e instanceof NoVirtioPortException) {
                    // Started bare on a host, as a newcomer tries it first: say what serves there.
                    why += "; outside a guest, serve a unix socket: agentd --listen unix:PATH";
                }
                startFailed(log, "cannot serve the host: " + why);
                return 1;
            }
            // A signal during a start that succeeded is carried out by the loop, like any later one.
            signalDuringStart.startOver();
            sessions.start();
            log.info("{}", ServingLine.of(version(), served(transports), options, oomScoreAdj.describe(),
                    cgroupRoot == null ? "sessions' memory not limited (no session cgroups)" : cgroupRoot.memoryLimit()));
            loop.run();
            stopDeadline.begun(); // a signal after a host's core.shutdown finds the stop under way
            fsWorkers.shutdown();
            transports.forEach(Transport::close);
            cgroups.killAndRemoveAll(); // descendants of exited sessions do not outlive the agent
            groupRecords.pruneGone();
            if (stoppedBySignal[0] != 0 && !agent.hostAskedShutdown()) {
                log.info("agentd exits {} (stopped by signal {})", 128 + stoppedBySignal[0], stoppedBySignal[0]);
                return 128 + stoppedBySignal[0];
            }
        }
        log.info("agentd exits");
        return 0;
    }

    /** What the options ask to serve: the port first (if any), then the sockets in their order. */
    private static List<Transport> transports(EventLoop loop, AgentOptions options, Agent agent) throws IOException {
        List<Transport> transports = new ArrayList<>();
        if (options.servesPort()) {
            Path port = options.port();
            String portName = options.portName();
            // One lambda for both: the AppCDS training serves a fixed port (scripts/guest/cds-training), the
            // guest a named one, whose own lambda would be spun at run time, on the way to ready.
            DevicePort.Finder finder = () -> port != null ? port
                    : DevicePort.findVirtioPort(SYS_VIRTIO_PORTS, DEV, portName);
            transports.add(new DevicePort(loop, finder, options.hostLossPolicyOr(HostLossPolicy.PORT_DEFAULT), agent));
        }
        HostLossPolicy socketPolicy = options.hostLossPolicyOr(HostLossPolicy.SOCKET_DEFAULT);
        for (ListenAddress address : options.listen()) {
            if (address instanceof ListenAddress.Unix unix) {
                transports.add(new UnixSocketServer(loop, unix.path(), options.socketAccess(), socketPolicy, agent));
            } else if (address instanceof ListenAddress.Vsock vsock) {
                transports.add(new VsockServer(loop, vsock.port(), options.serveLocalVsock(), socketPolicy, agent));
            }
        }
        return transports;
    }

    /**
     * The one line of a start that failed: in the log, and on standard error too when the log is a
     * file, where an operator who started the agent from a shell saw nothing (exit 1, a silent
     * terminal). Not twice there when the file could not be opened and the log stayed on the console.
     */
    private static void startFailed(Logger log, String line) {
        log.error("{}", line);
        if (Logging.toFile()) {
            System.err.println("agentd: " + line);
        }
    }

    /**
     * What stopped a transport, for the one line an operator reads: the file exceptions' messages
     * are a bare path (a socket's directory that does not exist read "/tmp/x/nodir").
     */
    static String startFailure(Exception e) {
        if (e instanceof java.io.UncheckedIOException u && u.getCause() != null) {
            return startFailure(u.getCause()); // the class name said nothing to an operator
        }
        if (e instanceof java.nio.file.NoSuchFileException f) {
            return f.getFile() + ": no such file or directory (does the socket's directory exist?)";
        }
        if (e instanceof java.nio.file.AccessDeniedException f) {
            return f.getFile() + ": permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException f) {
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : e.getClass().getSimpleName());
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /** Each transport for the serving line, with the host-loss policy it was given. */
    private static List<ServingLine.Served> served(List<Transport> transports) {
        List<ServingLine.Served> served = new ArrayList<>();
        for (Transport t : transports) {
            served.add(new ServingLine.Served(t.describe(), t.hostLossPolicy(), t.servesManyHosts()));
        }
        return served;
    }

    private static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    private static long bootNanos() {
        try {
            return Os.clockNanos(LibC.CLOCK_BOOTTIME);
        } catch (OsException e) {
            return 0;
        }
    }

    /** When this process started, in CLOCK_BOOTTIME ns: field 22 of /proc/self/stat, in clock ticks. */
    private static long processStartNanos() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
            // Fields after the command name (which may hold spaces) start past the last ')'.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[19]) * (1_000_000_000L / CLOCK_TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
