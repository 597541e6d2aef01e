package io.agentd.agent.transport;

import io.agentd.agent.loop.LogThrottle;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.FileType;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A character device carrying the host's frames: a virtio-serial port, or any tty (put in raw mode).
 * It is opened once and kept open for the agent's whole life (bytes the host sends while the guest
 * has the port closed are lost). It is one connection for the agent's life ({@link
 * HostConnections#openPort}): the frames queued while the host side is away stay queued for its
 * return, and the connection's endpoint is told when a connected host side goes away.
 *
 * <p>While the host side is away the port reports a hang-up for as long as that lasts, which
 * level-triggered epoll would report in a loop. A virtio-serial port wakes its pollers when the host
 * side opens it, so it is watched edge-triggered and the host is served the moment it comes back.
 * A tty gives no such promise: it is probed again every {@link #PROBE_MILLIS}.
 *
 * <p>A virtio port can also be removed under the agent (hot-unplugged by the VMM, or its driver
 * unbound in the guest). Its fd then reports a hang-up for ever, and a port plugged back in is a
 * new device that fd never sees. The two hang-ups differ: a port whose host side is away still
 * polls readable (a read returns 0 at once), a removed one reports the hang-up alone (Linux's
 * virtio_console, {@code port_fops_poll}). On that the agent closes the fd and looks for the port
 * again, as it found it at start ({@link Finder}), every {@link #REFIND_MILLIS}, and serves it
 * from the moment it is back; the agent's other transports and their sessions go on meanwhile.
 */
public final class DevicePort implements Transport {
    private static final Logger log = LoggerFactory.getLogger(DevicePort.class);
    static final long PROBE_MILLIS = 200;
    /** How often a removed virtio port is looked for again (one sysfs listing, nothing else, until it is back). */
    static final long REFIND_MILLIS = 1000;
    /**
     * How long a port not there at the agent's start is waited for before the start fails. The guest's
     * init loads the virtio drivers while the agent starts (scripts/guest/init): their probe normally
     * ends long before the agent looks, and this covers a slow one. (A port that never comes costs the
     * start these seconds, the other transports included: they start after the port. A SIGTERM or
     * SIGINT ends the wait at once: Main's SignalDuringStart interrupts it.)
     */
    static final long START_WAIT_MILLIS = 5000;
    static final long START_RETRY_MILLIS = 20;

    /** Where the port's device is now: found again by name after a removal ({@link #findVirtioPort}), or a fixed path. */
    @FunctionalInterface
    public interface Finder {
        Path find() throws IOException;
    }

    private static final int TCSANOW = 0;
    /** glibc's struct termios is 60 bytes; room to spare. */
    private static final int TERMIOS_BYTES = 256;

    private final Loop loop;
    private final Finder finder;
    /** The device served, or last served while a removed port is looked for; null before start. */
    private Path device;
    private final HostLossPolicy hostLossPolicy;
    private final HostConnections connections;
    private HostEndpoint endpoint;
    private PortLink link;
    private int fd = -1;
    private boolean tty;
    /** While the host side of a virtio port is away: the edge-triggered watch for its return. */
    private Loop.Registration hostWatch;
    /** While a removed port is looked for again: the next look. */
    private Loop.Timer refind;
    /** While epoll refuses the port's fd: the next try to watch it. */
    private Loop.Timer rewatch;
    /** Lines about epoll refusing the port: it is tried again every {@link #REFIND_MILLIS} while that lasts. */
    private final LogThrottle unwatchableLog;

    public DevicePort(Loop loop, Finder finder, HostLossPolicy hostLossPolicy, HostConnections connections) {
        this.loop = loop;
        this.unwatchableLog = new LogThrottle(loop, 60_000, log, Level.WARN, "failures to serve or watch the port");
        this.finder = finder;
        this.hostLossPolicy = hostLossPolicy;
        this.connections = connections;
    }

    @Override
    public void start() throws IOException {
        device = findWaiting(() -> existing(finder.find()), START_WAIT_MILLIS, START_RETRY_MILLIS);
        fd = open(device);
        try {
            tty = Os.libc().isatty(fd) == 1;
            if (tty) {
                makeRaw();
                exclusive(true);
            }
            endpoint = connections.openPort(device.toString(), hostLossPolicy);
            link = endpoint.link();
            link.attach(fd, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, this::onHangup);
        } catch (UncheckedIOException e) { // epoll refuses the device (/dev/null, /dev/zero: EPERM)
            closeDevice();
            throw new IOException(device + " cannot be served: " + e.getCause().getMessage()
                    + ": not a tty or a virtio port", e);
        } catch (IOException | RuntimeException e) {
            closeDevice();
            throw e;
        }
        log.info("serving port {}", device);
    }

    private static int open(Path device) throws IOException {
        int mode = (Integer) Files.getAttribute(existing(device), "unix:mode");
        if (FileType.of(mode) != FileType.S_IFCHR) {
            throw new IOException(device + " is not a character device");
        }
        return Os.check("open(" + device + ")", Os.libc().open(Os.cString(device.toString()),
                LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0));
    }

    /** No echo, no line discipline, no translation: the tty carries frames byte for byte. */
    private void makeRaw() throws OsException {
        ByteBuffer termios = Os.allocate(TERMIOS_BYTES);
        Os.check("tcgetattr", Os.libc().tcgetattr(fd, termios));
        Os.libc().cfmakeraw(termios);
        Os.check("tcsetattr", Os.libc().tcsetattr(fd, TCSANOW, termios));
    }

    /**
     * TIOCEXCL while the agent serves the tty: a tty, unlike a virtio port, takes any number of
     * opens, and a session that can open the node (a strict or restricted root session is its owner)
     * read the host's frames, wrote frames of its own to the host and changed the port's mode. Now its
     * open fails with EBUSY unless it has CAP_SYS_ADMIN. Undone at close: the flag outlives the agent's
     * fd on a PTY's slave (the master keeps the tty), and an agent without CAP_SYS_ADMIN started on it
     * again would be refused too.
     */
    private void exclusive(boolean on) throws OsException {
        Os.check(on ? "ioctl(TIOCEXCL)" : "ioctl(TIOCNXCL)",
                Os.libc().ioctl(fd, on ? LibC.TIOCEXCL : LibC.TIOCNXCL, new int[1]));
    }

    private void onHangup(boolean wasConnected) {
        if (wasConnected) {
            endpoint.hostLost(false);
        }
        if (tty) {
            if (wasConnected && link.hostEvents().takeConnectionLine()) {
                log.info("port {}: host side gone; probing every {} ms", device, PROBE_MILLIS);
            }
            loop.schedule(PROBE_MILLIS, this::attach);
            return;
        }
        if (wasConnected && link.hostEvents().takeConnectionLine()) { // a host can come and go in a loop
            log.info("port {}: host side gone; waiting for it", device);
        }
        // Readable and writable interest, edge-triggered: a port whose host is away polls readable
        // and hung up, a removed one hung up alone, and epoll passes on only what is asked for (with
        // read interest left out, every "host away" read as a removal, and the port was closed and
        // reopened every second while no host was there). Registered after the link let go of the
        // fd, and epoll looks at the port once when it is added: a host that came back in between is
        // seen at once.
        hostWatch = loop.register(fd, this::onHostWatchEvents);
        try {
            hostWatch.setEdgeTriggered(true);
            hostWatch.setRead(true);
            hostWatch.setWrite(true);
        } catch (UncheckedIOException e) { // epoll_ctl failed; anything else is a bug, for the loop to log
            hostWatch.cancel();
            hostWatch = null;
            rewatchLater("watched for the host's return", e); // the link's attach then finds out, as a tty's probe does
        }
    }

    private void onHostWatchEvents(int events) {
        if ((events & Loop.HANGUP) != 0) {
            if ((events & Loop.READABLE) == 0) {
                onRemoved();
            }
            return; // still away: the port's next change wakes the watch again
        }
        hostWatch.cancel();
        hostWatch = null;
        attach();
    }

    /** The port was removed: its fd is closed, and the port looked for again until it is back. */
    private void onRemoved() {
        log.warn("port {}: removed (hot-unplugged, or its driver unbound); looking for it again every {} ms",
                device, REFIND_MILLIS);
        hostWatch.cancel();
        hostWatch = null;
        Os.close(fd);
        fd = -1;
        refind = loop.schedule(REFIND_MILLIS, this::refind);
    }

    private void refind() {
        Path found;
        try {
            found = finder.find();
            fd = open(found);
        } catch (IOException e) {
            refind = loop.schedule(REFIND_MILLIS, this::refind); // not back yet (or its node not made yet)
            return;
        }
        device = found;
        refind = null;
        log.info("port {}: back; serving it", device);
        attach();
    }

    /**
     * Serves the port on the link again. When epoll refuses its fd (ENOSPC past the agent uid's
     * max_user_watches, which sessions running as root share; ENOMEM), it is tried again every
     * {@link #REFIND_MILLIS} for as long as that lasts: a port left unwatched would never be served
     * again, and in a VM it is the host's way in.
     */
    private void attach() {
        rewatch = null;
        if (fd < 0) {
            return;
        }
        try {
            link.attach(fd, PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, this::onHangup);
        } catch (UncheckedIOException e) { // epoll_ctl failed; the link is left detached, nothing of it in the loop
            rewatchLater("served", e);
        }
    }

    private void rewatchLater(String what, UncheckedIOException e) {
        if (unwatchableLog.take()) {
            log.warn("port {}: cannot be {} ({}); trying again every {} ms", device, what, e.getCause().getMessage(),
                    REFIND_MILLIS);
        }
        rewatch = loop.schedule(REFIND_MILLIS, this::attach);
    }

    @Override
    public void close() {
        if (refind != null) {
            refind.cancel();
            refind = null;
        }
        if (rewatch != null) {
            rewatch.cancel();
            rewatch = null;
        }
        if (hostWatch != null) {
            hostWatch.cancel();
            hostWatch = null;
        }
        closeDevice();
    }

    /**
     * Closes the device, a tty's exclusive use undone first (also when the start failed after
     * setting it): on a PTY the flag outlives the fd, and an agent started on it again without
     * CAP_SYS_ADMIN would be refused.
     */
    private void closeDevice() {
        if (tty && fd >= 0) {
            try {
                exclusive(false);
            } catch (OsException e) {
                // Only a hung-up tty refuses it (EIO): its other side is gone, and with it the tty.
            }
        }
        Os.close(fd);
        fd = -1;
    }

    @Override
    public String describe() {
        return String.valueOf(device);
    }

    @Override
    public HostLossPolicy hostLossPolicy() {
        return hostLossPolicy;
    }

    @Override
    public boolean servesManyHosts() {
        return false;
    }

    /**
     * {@code finder}'s answer, asked again every {@code retryMillis} while it fails, for up to
     * {@code waitMillis}; then its last failure, saying how long it was waited for. The first miss is
     * logged: otherwise the start says nothing during the wait.
     */
    static Path findWaiting(Finder finder, long waitMillis, long retryMillis) throws IOException {
        long start = System.nanoTime();
        boolean missed = false;
        while (true) {
            try {
                return finder.find();
            } catch (IOException e) {
                long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                if (waited >= waitMillis) {
                    String message = e.getMessage() + " (looked for " + waited + " ms)";
                    // Still typed: Main tells a bare start on a host by it.
                    throw e instanceof NoVirtioPortException none ? new NoVirtioPortException(message, none)
                            : new IOException(message, e);
                }
                if (!missed) {
                    missed = true;
                    log.info("{}: waiting up to {} ms for it", e.getMessage(), waitMillis);
                }
                try {
                    Thread.sleep(Math.min(retryMillis, waitMillis - waited));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** {@code device}, when its node exists: what the start waits for, a fixed --port as a named one. */
    private static Path existing(Path device) throws IOException {
        if (!Files.exists(device)) {
            throw new IOException(device + " does not exist");
        }
        return device;
    }

    /**
     * The device of the virtio-serial port called {@code name}: /dev/NODE for sysfs's NODE/name.
     *
     * @throws NoVirtioPortException there is none of that name, or no virtio ports at all
     */
    public static Path findVirtioPort(Path sysClassVirtioPorts, Path dev, String name) throws IOException {
        if (!Files.isDirectory(sysClassVirtioPorts)) {
            throw new NoVirtioPortException("no virtio ports (" + sysClassVirtioPorts + " does not exist)");
        }
        // A directory stream and a sort, not Files.list(...).sorted(): the stream pipeline's classes and
        // lambdas are not in the AppCDS archive (its training has no virtio port) and were made on the
        // guest's way to ready.
        List<Path> ports = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(sysClassVirtioPorts)) {
            for (Path port : entries) {
                ports.add(port);
            }
        } catch (DirectoryIteratorException e) {
            throw e.getCause(); // an IOException, which the start's wait and a re-find retry
        }
        Collections.sort(ports); // the first port of that name by its node's name, whatever the directory's order
        for (Path port : ports) {
            Path nameFile = port.resolve("name");
            if (Files.isReadable(nameFile)
                    && new String(Files.readAllBytes(nameFile), StandardCharsets.UTF_8).trim().equals(name)) {
                return dev.resolve(port.getFileName().toString());
            }
        }
        throw new NoVirtioPortException("no virtio port named '" + name + "' under " + sysClassVirtioPorts);
    }
}
