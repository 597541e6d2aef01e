package io.agentd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The peer baseline: QEMU's guest agent (Debian package qemu-guest-agent) run on this machine on a
 * unix socket instead of a virtio port, driven with its line-delimited JSON (QMP-style) commands.
 * Outside a VM it needs only its own state dir and pid file; the socket replaces the virtio port.
 */
final class QemuGuestAgent implements AutoCloseable {
    private static final List<Path> KNOWN_PATHS = List.of(Path.of("/usr/sbin/qemu-ga"), Path.of("/usr/bin/qemu-ga"));
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final long startNanos;
    private long readyNanos;
    private final SocketChannel channel;
    private final BufferedReader in;
    private final OutputStream out;
    private long syncId = 1;

    private QemuGuestAgent(Process process, long startNanos, SocketChannel channel) {
        this.process = process;
        this.startNanos = startNanos;
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.out = Channels.newOutputStream(channel);
    }

    static Path binary() throws IOException {
        for (Path p : KNOWN_PATHS) {
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IOException("qemu-ga not found (apt-get install qemu-guest-agent; scripts/bench does)");
    }

    /** Starts qemu-ga in {@code workDir}, connects, and answers one guest-sync before returning. */
    static QemuGuestAgent start(Path workDir) throws Exception {
        return start(binary(), workDir);
    }

    /**
     * {@link #start(Path)} with the binary given. A qemu-ga that cannot be reached or answers its first
     * guest-sync wrongly is stopped before the exception goes on: no caller holds it to close.
     */
    static QemuGuestAgent start(Path binary, Path workDir) throws Exception {
        Files.createDirectories(workDir);
        Path socket = workDir.resolve("qga.sock");
        Files.deleteIfExists(socket);
        List<String> cmd = List.of(binary.toString(), "-m", "unix-listen", "-p", socket.toString(),
                "-t", workDir.toString(), "-f", workDir.resolve("qga.pid").toString(),
                "-l", workDir.resolve("qga.log").toString());
        long start = System.nanoTime();
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(workDir.resolve("qga.out").toFile()).start();
        SocketChannel channel = null;
        try {
            channel = Unix.connectWhenListening(socket, process, 10_000);
            QemuGuestAgent qga = new QemuGuestAgent(process, start, channel);
            qga.sync();
            qga.readyNanos = System.nanoTime();
            return qga;
        } catch (Exception | Error e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
            }
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw e;
        }
    }

    long pid() {
        return process.pid();
    }

    /** From just before the process was started to the first guest-sync answered. */
    long startToReadyNanos() {
        return readyNanos - startNanos;
    }

    /** guest-sync: the agent echoes the id; anything else in between is a stale reply and skipped. */
    void sync() throws IOException {
        long id = syncId++;
        ObjectNode args = JSON.createObjectNode().put("id", id);
        JsonNode reply = call("guest-sync", args);
        if (reply.asLong() != id) {
            throw new IOException("guest-sync answered " + reply + ", expected " + id);
        }
    }

    /**
     * guest-exec of {@code path} without output capture, then guest-exec-status until it has exited.
     * Returns how many status polls that took.
     */
    int execUntilExited(String path) throws IOException {
        ObjectNode execArgs = JSON.createObjectNode().put("path", path).put("capture-output", false);
        long pid = call("guest-exec", execArgs).path("pid").asLong(-1);
        if (pid <= 0) {
            throw new IOException("guest-exec gave no pid");
        }
        ObjectNode statusArgs = JSON.createObjectNode().put("pid", pid);
        for (int polls = 1; ; polls++) {
            JsonNode status = call("guest-exec-status", statusArgs);
            if (status.path("exited").asBoolean(false)) {
                int code = status.path("exitcode").asInt(-1);
                if (code != 0) {
                    throw new IOException(path + " exited " + code + " under qemu-ga");
                }
                return polls;
            }
        }
    }

    /** One command, its "return" value; an "error" reply becomes an IOException. */
    private JsonNode call(String execute, ObjectNode arguments) throws IOException {
        ObjectNode request = JSON.createObjectNode().put("execute", execute);
        request.set("arguments", arguments);
        out.write(JSON.writeValueAsBytes(request));
        out.write('\n');
        String line = in.readLine();
        if (line == null) {
            throw new IOException("qemu-ga closed the socket after " + execute);
        }
        JsonNode reply = JSON.readTree(line);
        if (reply.has("error")) {
            throw new IOException(execute + " failed: " + reply.get("error"));
        }
        return reply.path("return");
    }

    @Override
    public void close() throws IOException, InterruptedException {
        channel.close();
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
