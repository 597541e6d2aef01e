package io.agentd.testkit;

import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The value of a static {@link Guest} field, held by the test classes that run with it. A static field
 * is its declaring class's, one for every subclass, so its VM is one too: the first test class to start
 * that has the field boots it and sets the field; every other that starts while it is held (a subclass
 * run at the same time under parallel execution, or the declaring class itself) shares it; the last to
 * end closes it. Classes that run one after another each boot their own, as they always did.
 *
 * <p>Before, every test class booted a VM of its own into the one field: two subclasses run at once
 * overwrote each other's, and the first to end closed the VM the other was still using.
 *
 * @param <T> the value (a {@link GuestVm}; anything closeable, for a test without QEMU)
 */
final class SharedStatic<T extends AutoCloseable> {
    /** Makes the value; may fail, and then nobody holds it. */
    interface Opener<T> {
        T open() throws Exception;
    }

    /** By field, for the JVM: a static field is one per JVM, whichever engine run or test class sets it. */
    private static final Map<Field, SharedStatic<?>> BY_FIELD = new ConcurrentHashMap<>();

    private final Field field;
    private T value;
    private int holders;

    private SharedStatic(Field field) {
        this.field = field;
    }

    /** The one of the static field {@code field} (accessible). */
    @SuppressWarnings("unchecked")
    static <T extends AutoCloseable> SharedStatic<T> of(Field field) {
        return (SharedStatic<T>) BY_FIELD.computeIfAbsent(field, SharedStatic::new);
    }

    /**
     * The value, opened and set into the field when nobody holds it; the caller holds it until its
     * {@link #release()}. Opened under the lock: a class that starts during the boot waits for that VM
     * instead of booting a second one into the field.
     */
    synchronized T acquire(Opener<T> opener) throws Exception {
        if (holders == 0) {
            T opened = opener.open();
            try {
                field.set(null, opened);
            } catch (IllegalAccessException | RuntimeException e) {
                opened.close(); // nobody could reach it
                throw e;
            }
            value = opened;
        }
        holders++;
        return value;
    }

    /** Lets go of the value; the last holder closes it (outside the lock: a power-off may take a while). */
    void release() throws Exception {
        T closing;
        synchronized (this) {
            if (holders == 0) {
                throw new IllegalStateException("released more often than acquired: " + field);
            }
            if (--holders > 0) {
                return;
            }
            closing = value;
            value = null;
        }
        closing.close();
    }
}
