package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A host that stops reading while a child floods stdout: the agent stops reading the child (which
 * blocks in write) instead of buffering. The agent runs with a 48 MiB heap and the child writes
 * 64 MiB, so buffering it all could not even fit; the live heap is measured with jcmd. The
 * operator learns of the stall from the log (a warning after --stall-warn-ms), and of its end.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BackpressureE2ETest {
    private static final long FLOOD = 64L << 20;
    /** Live heap allowed while the host does not read: the queue is bounded at the 1 MiB mark. */
    private static final long HEAP_BOUND = 24L << 20;
    private static final long STALL_WARN_MS = 300;
    private static final Pattern USED = Pattern.compile("generation\\s+total \\d+K, used (\\d+)K");

    @Test
    void floodingChildBlocksWhileTheHostDoesNotReadAndEverythingArrivesAfter() throws Exception {
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("backpressure", "-Xmx48m " + AgentProcess.ATTACHABLE,
                "--stall-warn-ms", Long.toString(STALL_WARN_MS));
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            host.exec(1, ExecRequest.of("head", "-c", Long.toString(FLOOD), "/dev/zero"));
            long pid = ((ExecStarted) host.expect(1, MessageType.EXEC_STARTED).payload()).pid();
            host.pauseReading();

            long firstWchar = awaitBlocked(pid);
            Thread.sleep(500);
            assertEquals(firstWchar, writtenBy(pid), "the child is blocked in write");
            assertTrue(firstWchar < FLOOD, "the child could not write everything: " + firstWchar);
            long heap = liveHeap(agent.pid());
            System.out.printf("host not reading: child wrote %d bytes, agent live heap %d KiB, agent RSS %s%n",
                    firstWchar, heap >> 10, rss(agent.pid()));
            assertTrue(heap < HEAP_BOUND, "agent live heap " + heap + " bytes while the host does not read");
            String stallLog = agent.logText();
            assertTrue(stallLog.matches("(?s).*WARN .*host has taken no output for \\d+ ms: \\d+ bytes wait for it.*"),
                    "no stall warning in the log:\n" + stallLog);
            assertEquals(1, count(stallLog, "host has taken no output"), "one warning per stall:\n" + stallLog);
            assertTrue(!stallLog.contains("host takes output again"), stallLog);

            host.resumeReading();
            SessionResult r = host.collect(1, HostConnection.TIMEOUT);
            assertEquals(0, r.code());
            assertEquals(FLOOD, r.stdout().length);
            for (byte b : r.stdout()) {
                if (b != 0) {
                    throw new AssertionError("output corrupted");
                }
            }
            assertTrue(agent.logText().matches("(?s).*host takes output again after \\d+ ms.*"),
                    "no line for the end of the stall:\n" + agent.logText());
        }
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
            n++;
        }
        return n;
    }

    /** Waits until the child's written-bytes counter stops moving; returns it. */
    private static long awaitBlocked(long pid) throws Exception {
        long last = -1;
        for (int i = 0; i < 100; i++) {
            Thread.sleep(100);
            long now = writtenBy(pid);
            if (now == last) {
                return now;
            }
            last = now;
        }
        throw new AssertionError("child " + pid + " kept writing for 10 s with the host not reading");
    }

    /** wchar of /proc/PID/io: bytes the process has passed to write(2) so far. */
    private static long writtenBy(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/io"))) {
            if (line.startsWith("wchar:")) {
                return Long.parseLong(line.substring(6).trim());
            }
        }
        throw new AssertionError("no wchar for " + pid);
    }

    /** Heap in use after a full GC, from jcmd (the agent's JVM needs no MBean or flag for it). */
    private static long liveHeap(long agentPid) throws Exception {
        jcmd(agentPid, "GC.run");
        String info = jcmd(agentPid, "GC.heap_info");
        Matcher m = USED.matcher(info);
        long usedKiB = 0;
        int generations = 0;
        while (m.find()) {
            usedKiB += Long.parseLong(m.group(1));
            generations++;
        }
        assertTrue(generations > 0, "unexpected GC.heap_info output:\n" + info);
        return usedKiB << 10;
    }

    private static String jcmd(long pid, String command) throws Exception {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "jcmd " + command + ":\n" + out);
        return out;
    }

    private static String rss(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return line.substring(6).trim();
            }
        }
        return "?";
    }
}
