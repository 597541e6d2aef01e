package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 1000 starts from many threads at once, while the JVM also holds an fd without close-on-exec: every
 * child sees only its own 0, 1 and 2 (ls adds 3, its own /proc/self/fd). Neither another spawn's
 * pipes nor the inheritable fd reach it: close_range in the child closes everything above 2.
 */
@Timeout(300)
class FdHygieneTest {
    private static final int STARTS = 1000;
    private static final int THREADS = 32;

    @Test
    void noFdLeaksIntoAnyOfAThousandConcurrentlyStartedChildren() throws Exception {
        int inheritable = Os.libc().open(Os.cString("/dev/null"), LibC.O_RDWR, 0);
        assertTrue(inheritable > 2, "an fd without O_CLOEXEC: " + inheritable);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<String>> listings = new ArrayList<>();
            for (int i = 0; i < STARTS; i++) {
                boolean tty = i % 4 == 0;
                listings.add(pool.submit(() -> {
                    go.await();
                    ChildIo.Run r = ChildIo.run(ChildIo.spec("ls", List.of("-1", "/proc/self/fd"), tty));
                    return r.stdout().replace("\r\n", "\n");
                }));
            }
            go.countDown();
            for (int i = 0; i < STARTS; i++) {
                assertEquals("0\n1\n2\n3\n", listings.get(i).get(), "child " + i);
            }
        } finally {
            pool.shutdownNow();
            Os.close(inheritable);
        }
    }
}
