package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A static @Guest field's VM as the test classes that inherit the field hold it, with a closeable in
 * the VM's place: no QEMU.
 */
class SharedStaticTest {
    /** What a boot makes here. */
    static final class Vm implements AutoCloseable {
        volatile boolean closed;

        @Override
        public void close() {
            closed = true;
        }
    }

    /** Stands for a base class's static @Guest field; one per test, as the holder is one per field. */
    static Vm concurrent;
    static Vm inTurn;
    static Vm failing;

    private static <T extends AutoCloseable> SharedStatic<T> sharedOf(String name) throws Exception {
        Field field = SharedStaticTest.class.getDeclaredField(name);
        field.setAccessible(true);
        return SharedStatic.of(field);
    }

    /**
     * Two subclasses start at once: one boot, both use its VM, and the first to end leaves it running for
     * the other (each booted its own into the one field before: the second overwrote the first's, and
     * the first's end closed the VM the second was using).
     */
    @Test
    void classesRunAtOnceShareOneVmWhichTheLastToEndCloses() throws Exception {
        SharedStatic<Vm> shared = sharedOf("concurrent");
        AtomicInteger boots = new AtomicInteger();
        CountDownLatch bootStarted = new CountDownLatch(1);
        CountDownLatch bootMayEnd = new CountDownLatch(1);
        ExecutorService classes = Executors.newFixedThreadPool(2);
        try {
            Future<Vm> first = classes.submit(() -> shared.acquire(() -> {
                boots.incrementAndGet();
                bootStarted.countDown();
                assertTrue(bootMayEnd.await(10, TimeUnit.SECONDS));
                return new Vm();
            }));
            assertTrue(bootStarted.await(10, TimeUnit.SECONDS));
            // The second class starts while the first's boot is under way: it waits for that VM.
            Future<Vm> second = classes.submit(() -> shared.acquire(() -> {
                boots.incrementAndGet();
                return new Vm();
            }));
            bootMayEnd.countDown();
            Vm vm = first.get(10, TimeUnit.SECONDS);
            assertSame(vm, second.get(10, TimeUnit.SECONDS));
            assertEquals(1, boots.get(), "booted once for both");
            assertSame(vm, concurrent, "the field holds it");
            shared.release();
            assertFalse(vm.closed, "the first class's end closed the VM the second still uses");
            shared.release();
            assertTrue(vm.closed, "the last class's end closes it");
        } finally {
            classes.shutdownNow();
        }
    }

    /** Classes run one after another each boot their own, as a class with a field of its own does. */
    @Test
    void classesRunInTurnEachBootTheirOwn() throws Exception {
        SharedStatic<Vm> shared = sharedOf("inTurn");
        Vm first = shared.acquire(Vm::new);
        shared.release();
        Vm second = shared.acquire(Vm::new);
        assertNotSame(first, second);
        assertSame(second, inTurn);
        shared.release();
        assertThrows(IllegalStateException.class, shared::release, "a release without an acquire");
    }

    /** A boot that fails leaves no holder: the next class boots again, and the last's end closes that VM. */
    @Test
    void aFailedBootIsHeldByNobody() throws Exception {
        SharedStatic<Vm> shared = sharedOf("failing");
        assertThrows(GuestVmException.class, () -> shared.acquire(() -> {
            throw new GuestVmException("did not boot");
        }));
        Vm vm = shared.acquire(Vm::new);
        shared.release();
        assertTrue(vm.closed);
    }
}
