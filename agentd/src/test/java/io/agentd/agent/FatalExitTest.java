package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's end on an Error, in a JVM of its own (it halts): the log line is written even when the
 * heap is full to the last bytes, as an OutOfMemoryError under a flood leaves it, and when no log line
 * can be written at all, stderr still says why the agent ended.
 */
class FatalExitTest {
    @Test
    void theLogLineIsWrittenWhenTheHeapIsFull() throws Exception {
        Child child = Child.run("full-heap");
        assertEquals(FatalExit.STATUS, child.status, child.err);
        assertTrue(child.err.contains("fatal error, the agent exits 3 (its sessions are killed"), child.err);
        assertTrue(child.err.contains("java.lang.OutOfMemoryError"), child.err);
        assertFalse(child.err.contains("could not be written"), child.err);
    }

    /** The reserve taken by another thread before the log line could use it: stderr, then the halt. */
    @Test
    void theAgentStillHaltsWhenTheHeapIsFullAndNoReserveIsLeft() throws Exception {
        Child child = Child.run("full-heap-no-reserve");
        assertEquals(FatalExit.STATUS, child.status, child.err);
        assertTrue(child.err.endsWith("agentd: fatal error (its log line could not be written), the agent exits 3\n"),
                child.err);
    }

    @Test
    void stderrSaysWhyWhenTheLoggerItselfFails() throws Exception {
        Child child = Child.run("logger-fails");
        assertEquals(FatalExit.STATUS, child.status, child.err);
        assertTrue(child.err.endsWith("FatalExitTest: serving\n"
                + "agentd: fatal error (its log line could not be written), the agent exits 3\n"), child.err);
    }

    private record Child(int status, String err) {
        static Child run(String mode) throws Exception {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Process p = new ProcessBuilder(java.toString(), "-Xmx24m", "-XX:+UseSerialGC",
                    "-cp", System.getProperty("java.class.path"), Main.class.getName(), mode)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), err);
            return new Child(p.exitValue(), err);
        }
    }

    /** The child: ends through {@link FatalExit} as the agent would in the given state. */
    static final class Main {
        public static void main(String[] args) {
            if (args[0].equals("full-heap-no-reserve")) {
                FatalExit.prepareTheHalt();
            } else {
                FatalExit.prepare();
            }
            Logger log = LoggerFactory.getLogger(FatalExitTest.class);
            log.info("serving"); // the agent has logged before its Error: logging's classes are loaded
            if (args[0].equals("logger-fails")) {
                Logger broken = (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(),
                        new Class<?>[] {Logger.class}, (proxy, method, margs) -> {
                            throw new OutOfMemoryError("Java heap space");
                        });
                FatalExit.now(broken, new StackOverflowError());
            }
            Object[] held = null;
            OutOfMemoryError last = null;
            for (int size = 1 << 20; size >= 8; ) {
                try {
                    held = new Object[] {held, new byte[size]};
                } catch (OutOfMemoryError full) {
                    last = full;
                    size /= 2;
                }
            }
            FatalExit.now(log, last);
            System.out.println(held.length); // held to the end
        }
    }
}
