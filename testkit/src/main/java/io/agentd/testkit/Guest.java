package io.agentd.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a {@link GuestVm} field or parameter that {@link GuestVmExtension} fills with a booted guest.
 * A static field gets one VM for the whole class (booted before the first test, closed after the
 * last). It is the class's that declares it: test classes that inherit it and run at the same time
 * (parallel execution) share one VM, booted by the first to start and closed when the last ends;
 * classes run one after another each boot their own. An instance field or a test method's parameter
 * gets a VM per test. Every parameter is a VM of its own: two parameters boot two VMs, and a
 * {@code @BeforeEach} method's parameter is not the test's; for a VM that set-up and test share, use a
 * field. The image is
 * {@link GuestImage#defaultDir()}; without one the tests are skipped, with the reason (or fail when
 * {@link GuestImage#required()}).
 *
 * <p>The annotation registers {@link GuestVmExtension} itself (JUnit Jupiter reads {@code @ExtendWith}
 * on a field's or a parameter's annotation): a test class without
 * {@code @ExtendWith(GuestVmExtension.class)} left its {@code @Guest} field null without a word. A class
 * that has it as well gets the one extension: JUnit registers an extension class once, whichever way it
 * is named. A {@link GuestVm} parameter without {@code @Guest} still needs the class's
 * {@code @ExtendWith}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.PARAMETER})
@ExtendWith(GuestVmExtension.class)
public @interface Guest {
    /** Guest memory in MiB (the project's image needs about 256: {@link GuestVm.Builder#memoryMib}). */
    int memoryMib() default 1024;

    /** Guest CPUs. */
    int vcpus() default 2;

    /** Kernel command line parameters, one a string, e.g. {@code "agentd.profile=restricted"} (see {@link GuestVm.Builder#kernelArgs}). */
    String[] kernelArgs() default {};

    /** How long the boot may take to the agent's core.ready, each try (see {@link GuestVm.Builder#bootTimeout}). */
    int bootTimeoutSeconds() default 180;
}
