package io.agentd.testkit;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.opentest4j.TestAbortedException;

/**
 * JUnit 5 extension that boots guests for {@link Guest} fields and parameters and closes them after
 * the class (static field) or the test (instance field, parameter).
 *
 * <pre>{@code
 * class UnameTest { // @Guest registers this extension: no @ExtendWith needed
 *     @Guest static GuestVm vm;
 *
 *     @Test
 *     void runsInTheGuest() throws Exception {
 *         assertEquals(vm.image().kernelVersion() + "\n", vm.exec("uname", "-r").stdoutText());
 *     }
 * }
 * }</pre>
 *
 * <p>When a test, or a set-up or tear-down method, fails, every VM it used gets a
 * {@link GuestDiagnostics} added to the failure (suppressed): the console's last
 * {@value #CONSOLE_TAIL_LINES} lines and the agent's last {@value #AGENT_LOG_LINES} log lines.
 * Without a guest image ({@link GuestImage#defaultDir()}) the tests are skipped (aborted) with a
 * reason that says how to build one, or fail when {@link GuestImage#required()}.
 */
public final class GuestVmExtension
        implements BeforeAllCallback, BeforeEachCallback, ParameterResolver, TestExecutionExceptionHandler,
        LifecycleMethodExecutionExceptionHandler {
    static final int CONSOLE_TAIL_LINES = 60;
    static final int AGENT_LOG_LINES = 100;
    private static final Namespace NAMESPACE = Namespace.create(GuestVmExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (takesAGuest(context.getRequiredTestClass(), BeforeAll.class, AfterAll.class)) {
            requireImage(); // as below, for the class
        }
        // A static field is its declaring class's: its VM is shared with every test class that has the
        // field and runs meanwhile (SharedStatic); this class's end lets go of it.
        for (Field field : guestFields(context.getRequiredTestClass(), true)) {
            SharedStatic<GuestVm> shared = SharedStatic.of(field);
            GuestVm vm = shared.acquire(() -> bootVm(field.getAnnotation(Guest.class)));
            booted(context).add(vm, shared::release);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        // Here rather than at parameter resolution, which would turn the skip into a failure.
        boolean takesAGuest = context.getTestMethod().map(GuestVmExtension::takesAGuest).orElse(false);
        // A @Nested test runs its enclosing classes' set-up too: their methods may take one.
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            takesAGuest |= takesAGuest(instance.getClass(), BeforeEach.class, AfterEach.class);
        }
        if (takesAGuest) {
            requireImage();
        }
        // A @Nested test has its enclosing classes' instances too, and their @Guest fields are its VMs as well.
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            for (Field field : guestFields(instance.getClass(), false)) {
                field.set(instance, boot(context, field.getAnnotation(Guest.class)));
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == GuestVm.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Parameter parameter = parameterContext.getParameter();
        if (parameterContext.getDeclaringExecutable() instanceof Constructor) {
            // JUnit resolves a constructor's parameters in the class's context: each test instance
            // would boot a VM that lives until the class ends (twenty tests, twenty QEMUs at once).
            throw new ParameterResolutionException("a GuestVm cannot be a constructor parameter (" + parameter
                    + "): its VM would live until the test class ends, one per test instance. Take it as a"
                    + " test or set-up method parameter (a VM per test), or a static @Guest field (one per class)");
        }
        try {
            return boot(extensionContext, parameter.getAnnotation(Guest.class));
        } catch (Exception e) {
            throw new ParameterResolutionException("could not boot a guest for " + parameter, e);
        }
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withDiagnostics(context, failure);
    }

    // Set-up and tear-down methods (fixtures put into the guest, say) fail as a test does.

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withDiagnostics(context, failure);
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withDiagnostics(context, failure);
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withDiagnostics(context, failure);
    }

    @Override
    public void handleAfterAllMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withDiagnostics(context, failure);
    }

    /** {@code failure} with a {@link GuestDiagnostics} of every VM {@code context} can see. */
    private static Throwable withDiagnostics(ExtensionContext context, Throwable failure) {
        Set<Booted> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (ExtensionContext c = context; c != null; c = c.getParent().orElse(null)) {
            Booted booted = c.getStore(NAMESPACE).get(bootedKey(c), Booted.class);
            if (booted != null && seen.add(booted)) {
                for (GuestVm vm : booted.vms) {
                    failure.addSuppressed(diagnostics(vm));
                }
            }
        }
        return failure;
    }

    /** Lines of QEMU's own output a failure carries, when it printed any. */
    private static final int QEMU_LOG_LINES = 40;

    /** The console's tail, the agent's log lines and QEMU's own output of {@code vm}, as an exception to attach. */
    static GuestDiagnostics diagnostics(GuestVm vm) {
        StringBuilder text = new StringBuilder("guest ").append(vm.runDir()).append('\n');
        try {
            text.append("--- console, last ").append(CONSOLE_TAIL_LINES).append(" lines (")
                    .append(vm.console().file()).append("):\n").append(vm.console().tail(CONSOLE_TAIL_LINES));
            List<String> agent = vm.console().agentLines();
            text.append("\n--- agent log, last ").append(AGENT_LOG_LINES).append(" of ").append(agent.size())
                    .append(" lines:\n").append(String.join("\n", agent.subList(
                            Math.max(0, agent.size() - AGENT_LOG_LINES), agent.size())));
        } catch (IOException e) {
            text.append("(the console could not be read: ").append(e).append(')');
        }
        String qemuSaid = QemuProcesses.tail(vm.runDir().resolve("qemu.log"), QEMU_LOG_LINES);
        if (!qemuSaid.isBlank()) { // an assertion or a device error of QEMU's own: not on the console
            text.append("\n--- qemu.log, last ").append(QEMU_LOG_LINES).append(" lines:\n").append(qemuSaid);
        }
        return new GuestDiagnostics(text.toString());
    }

    /** A VM booted for {@code context} alone, closed when it ends. */
    private static GuestVm boot(ExtensionContext context, Guest settings) throws Exception {
        GuestVm vm = bootVm(settings);
        booted(context).add(vm, vm::close);
        return vm;
    }

    private static GuestVm bootVm(Guest settings) throws Exception {
        GuestVm.Builder builder = GuestVm.builder().image(requireImage());
        if (settings != null) {
            builder.memoryMib(settings.memoryMib()).vcpus(settings.vcpus()).kernelArgs(settings.kernelArgs())
                    .bootTimeout(Duration.ofSeconds(settings.bootTimeoutSeconds()));
        }
        return builder.boot();
    }

    private static Booted booted(ExtensionContext context) {
        return context.getStore(NAMESPACE).getOrComputeIfAbsent(bootedKey(context), k -> new Booted(), Booted.class);
    }

    /**
     * The key of {@code context}'s own VMs in its store: one per context. A store's lookups fall back
     * to its parents', so under one key a test's VMs went into its class's list when the class had
     * one (a static @Guest field), and were closed only when the class ended: ten tests taking a
     * GuestVm each ran eleven guests at once.
     */
    private static String bootedKey(ExtensionContext context) {
        return "booted:" + context.getUniqueId();
    }

    /**
     * The default image directory; without an image there, aborts (skips) the test, or fails it when
     * {@link GuestImage#required()} (CI: a run where every VM test skipped must not pass).
     */
    static Path requireImage() {
        Path dir = GuestImage.defaultDir();
        if (!GuestImage.exists(dir)) {
            String why = "no guest image at " + dir + ": build one with scripts/guest/build-image"
                    + " (as root), or name one with -D" + GuestImage.DIR_PROPERTY + "=DIR";
            if (GuestImage.required()) {
                throw new IllegalStateException(why + " (required: -D" + GuestImage.REQUIRED_PROPERTY
                        + "=true or CI=true)");
            }
            throw new TestAbortedException(why);
        }
        return dir;
    }

    private static boolean takesAGuest(Method method) {
        return Arrays.asList(method.getParameterTypes()).contains(GuestVm.class);
    }

    /**
     * Whether a method of {@code type} annotated with one of {@code lifecycle} takes a GuestVm: its
     * superclasses' and its interfaces' default methods too, as JUnit finds them (a walk of the
     * superclasses alone missed an interface's @BeforeEach, and its skip became a failure).
     */
    @SafeVarargs
    private static boolean takesAGuest(Class<?> type, Class<? extends Annotation>... lifecycle) {
        for (Class<? extends Annotation> annotation : lifecycle) {
            for (Method m : AnnotationSupport.findAnnotatedMethods(type, annotation, HierarchyTraversalMode.TOP_DOWN)) {
                if (takesAGuest(m)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<Field> guestFields(Class<?> type, boolean statics) {
        List<Field> fields = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (f.isAnnotationPresent(Guest.class) && Modifier.isStatic(f.getModifiers()) == statics) {
                    if (f.getType() != GuestVm.class) {
                        throw new IllegalStateException("@Guest field " + f + " must be of type GuestVm");
                    }
                    f.setAccessible(true);
                    fields.add(f);
                }
            }
        }
        return fields;
    }

    /** The VMs one context (class or test) uses, for a failure's diagnostics, and what its end does to each. */
    private static final class Booted implements ExtensionContext.Store.CloseableResource {
        /** Added to by tests that may run in parallel (junit.jupiter.execution.parallel). */
        final List<GuestVm> vms = new CopyOnWriteArrayList<>();
        /** Closes the context's own VM, or lets go of a static field's, which other classes may hold. */
        private final List<AutoCloseable> ends = new CopyOnWriteArrayList<>();

        void add(GuestVm vm, AutoCloseable end) {
            vms.add(vm);
            ends.add(end);
        }

        /**
         * Closes (or lets go of) every VM, even when one fails. A test may leave its thread's interrupt
         * status set (the idiom restores it; @Timeout interrupts): meant for the test, it would make every
         * close kill its QEMU at once and end the loop, so it is cleared for the power-offs and set again
         * after.
         */
        @Override
        public void close() throws Throwable {
            boolean interrupted = Thread.interrupted();
            Throwable failure = null;
            for (AutoCloseable end : ends) {
                try {
                    end.close();
                } catch (Throwable e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (failure != null) {
                throw failure;
            }
        }
    }
}
