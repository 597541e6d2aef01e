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
    private static final Pattern SOFT_LOCKUP = Pattern.compile("soft lockup - CPU#\\d+ stuck for (\\d{1,9})s!");
    /** How much of the file's end a tail reads: far more than the lines a diagnostic quotes. */
    private static final int TAIL_BYTES = 256 * 1024;

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

    /** Every line of the agent's log on the console so far, oldest first (the file is read whole). */
    public List<String> agentLines() throws IOException {
        List<String> agent = new ArrayList<>();
        for (String line : read(file, Long.MAX_VALUE)) {
            if (AGENT_LINE.matcher(line).matches()) {
                agent.add(line);
            }
        }
        return agent;
    }

    /** Whether a line of the console so far contains {@code text}. */
    public boolean contains(String text) throws IOException {
        return read(file, Long.MAX_VALUE).stream().anyMatch(l -> l.contains(text));
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

    /**
     * The first line so far in which the kernel reports a soft lockup of at least {@code minSeconds}
     * seconds: a CPU that ran nothing but the kernel that long (its watchdog's "BUG: soft lockup - CPU#1
     * stuck for 45s! [init:126]", printed even when the kernel boots quiet).
     */
    public Optional<String> softLockup(int minSeconds) throws IOException {
        for (String line : read(file, Long.MAX_VALUE)) {
            Matcher m = SOFT_LOCKUP.matcher(line);
            if (m.find() && Integer.parseInt(m.group(1)) >= minSeconds) {
                return Optional.of(line);
            }
        }
        return Optional.empty();
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
