package io.agentd.testkit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A guest's console (ttyS0), as QEMU writes it to a file: the kernel's few lines (it boots quiet),
 * init's ({@code init: ...}) and the agent's log. Read while the VM runs or after.
 */
public final class ConsoleLog {
    /**
     * A line of the agent's log: its layout (agentd's LogLineLayout) starts with an ISO-8601 time and
     * a level, then the logger and a colon.
     */
    private static final Pattern AGENT_LINE =
            Pattern.compile("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\S* +(TRACE|DEBUG|INFO|WARN|ERROR) +\\S+: .*");
    /** The kernel watchdog's report of a CPU that ran no task for a while (kernel/watchdog.c). */
    /**
     * What a kernel prints when the boot cannot go on, whatever the tries: a panic, an oops (a fault
     * in the kernel), an initramfs it could not unpack (cut short, or more than the guest's memory).
     * Not a soft lockup ("watchdog: BUG: soft lockup"), which a TCG hang also brings.
     */
    private static final Pattern KERNEL_FAILURE = Pattern.compile(
            "Kernel panic - not syncing|Initramfs unpacking failed|Oops: |BUG: (?!soft lockup)");
    private static final Pattern SOFT_LOCKUP = Pattern.compile("soft lockup - CPU#\\d+ stuck for (\\d{1,9})s!");
    /** How much of the file's end a tail reads: far more than the lines a diagnostic quotes. */
    private static final int TAIL_BYTES = 256 * 1024;
    /**
     * The longest line the scans look at; the rest of a longer one is skipped. The scans read the
     * file a chunk at a time and hold one line: a guest may write without bound to its console
     * (QEMU's file has no cap), and reading it whole held three times its size, which a busy
     * console took past the test JVM's heap.
     */
    static final int MAX_LINE_BYTES = 64 * 1024;
    /** The most agent lines {@link #agentLines} returns: the newest ones. */
    static final int MAX_AGENT_LINES = 100_000;

    private final Path file;

    ConsoleLog(Path file) {
        this.file = file;
    }

    /** The console file. */
    public Path file() {
        return file;
    }

    /** The console's last {@code lines} lines (fewer when it has fewer), CRs dropped. */
    public String tail(int lines) throws IOException {
        return lastLines(file, lines);
    }

    /**
     * The lines of the agent's log on the console so far, oldest first: all of them, or the newest
     * {@value #MAX_AGENT_LINES} of a console that has more.
     */
    public List<String> agentLines() throws IOException {
        java.util.ArrayDeque<String> agent = new java.util.ArrayDeque<>();
        eachLine(file, line -> {
            if (AGENT_LINE.matcher(line).matches()) {
                if (agent.size() == MAX_AGENT_LINES) {
                    agent.removeFirst();
                }
                agent.addLast(line);
            }
            return true;
        });
        return new ArrayList<>(agent);
    }

    /** Whether a line of the console so far contains {@code text}. */
    public boolean contains(String text) throws IOException {
        boolean[] found = {false};
        eachLine(file, line -> !(found[0] = line.contains(text)));
        return found[0];
    }

    /**
     * Whether init has said anything yet ({@code init: started} is its first line). The kernel boots
     * quiet, so a console with no such line after a failed boot means the guest hung, or died
     * silently, in the kernel before user space. (The line may follow the firmware's escape codes
     * on the console's line, so it is looked for anywhere in a line.)
     */
    public boolean reachedUserSpace() throws IOException {
        return contains("init: ");
    }

    /** The first line so far in which the kernel says it cannot go on ({@link #KERNEL_FAILURE}). */
    public Optional<String> kernelFailure() throws IOException {
        String[] found = {null};
        eachLine(file, line -> {
            if (KERNEL_FAILURE.matcher(line).find()) {
                found[0] = line;
                return false;
            }
            return true;
        });
        return Optional.ofNullable(found[0]);
    }

    /**
     * The first line so far in which the kernel reports a soft lockup of at least {@code minSeconds}
     * seconds: a CPU that ran nothing but the kernel that long (its watchdog's "BUG: soft lockup - CPU#1
     * stuck for 45s! [init:126]", printed even when the kernel boots quiet).
     */
    public Optional<String> softLockup(int minSeconds) throws IOException {
        String[] found = {null};
        eachLine(file, line -> {
            Matcher m = SOFT_LOCKUP.matcher(line);
            if (m.find() && Integer.parseInt(m.group(1)) >= minSeconds) {
                found[0] = line;
                return false;
            }
            return true;
        });
        return Optional.ofNullable(found[0]);
    }

    /**
     * Each line of the file, in order (CRs dropped, a line cut at {@link #MAX_LINE_BYTES}), to
     * {@code visit} until it answers false; read a chunk at a time.
     */
    static void eachLine(Path file, java.util.function.Predicate<String> visit) throws IOException {
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            byte[] chunk = new byte[64 * 1024];
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
            int n;
            while ((n = in.read(chunk)) > 0) {
                int from = 0;
                for (int i = 0; i < n; i++) {
                    if (chunk[i] == '\n') {
                        append(line, chunk, from, i);
                        if (!visit.test(text(line))) {
                            return;
                        }
                        line.reset();
                        from = i + 1;
                    }
                }
                append(line, chunk, from, n);
            }
            if (line.size() > 0) {
                visit.test(text(line));
            }
        }
    }

    /** Adds chunk[from, to) to the line, without CRs and no further than {@link #MAX_LINE_BYTES}. */
    private static void append(java.io.ByteArrayOutputStream line, byte[] chunk, int from, int to) {
        for (int i = from; i < to && line.size() < MAX_LINE_BYTES; i++) {
            if (chunk[i] != '\r') {
                line.write(chunk[i]);
            }
        }
    }

    private static String text(java.io.ByteArrayOutputStream line) {
        return line.toString(StandardCharsets.UTF_8);
    }

    static String lastLines(Path file, int count) throws IOException {
        List<String> all = read(file, TAIL_BYTES);
        return String.join("\n", all.subList(Math.max(0, all.size() - count), all.size()));
    }

    /** The lines of the file's last {@code maxBytes} bytes (a first partial line dropped), CRs removed. */
    private static List<String> read(Path file, long maxBytes) throws IOException {
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            long length = in.length();
            long start = Math.max(0, length - maxBytes);
            byte[] bytes = new byte[(int) Math.min(length - start, Integer.MAX_VALUE - 8)];
            in.seek(start);
            in.readFully(bytes);
            String text = new String(bytes, StandardCharsets.UTF_8).replace("\r", "");
            List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
            if (start > 0 && !lines.isEmpty()) {
                lines.remove(0);
            }
            if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
                lines.remove(lines.size() - 1);
            }
            return lines;
        }
    }
}
