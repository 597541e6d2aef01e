package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The extension as a user meets it: example test classes (nested here, run through the JUnit launcher,
 * never by the build on their own) and what their run reported.
 */
class GuestVmExtensionTest {
    /** Set while this test runs an example, which is otherwise disabled. */
    static final String RUNNING_EXAMPLE = "agentd.testkit.example";

    /** One VM for the class: a test that passes and one that fails. */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class Example {
        @Guest(memoryMib = 512)
        static GuestVm vm;
        static GuestVm seen;

        @Test
        void runsACommand() throws Exception {
            seen = vm;
            assertEquals("hello from the guest\n", vm.exec("echo", "hello from the guest").stdoutText());
        }

        @Test
        void fails() throws Exception {
            assertEquals("something else", vm.exec("true").stdoutText(), "fails on purpose");
        }

        @BeforeEach
        void setUp(TestInfo test) throws Exception {
            if (test.getTestMethod().orElseThrow().getName().equals("setUpFails")) {
                assertEquals(0, vm.exec("false").exitCode(), "set-up fails on purpose");
            }
        }

        @Test
        void setUpFails() {
        }
    }

    /** A parameter: skipped when there is no image. */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class ParameterExample {
        @Test
        void needsAGuest(GuestVm vm) {
            throw new AssertionError("ran without an image: " + vm);
        }
    }

    /** A constructor parameter: refused, image or not (its VM would live as long as the class). */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class ConstructorParameterExample {
        ConstructorParameterExample(GuestVm vm) {
            throw new AssertionError("constructed with " + vm);
        }

        @Test
        void needsAGuest() {
        }
    }

    @Test
    void aConstructorParameterIsRefusedSayingWhatToTakeInstead() {
        TestExecutionResult result = withoutAnImage("false",
                () -> run(ConstructorParameterExample.class).get("needsAGuest()"));
        assertEquals(TestExecutionResult.Status.FAILED, result.getStatus(), String.valueOf(result));
        String message = result.getThrowable().orElseThrow().getMessage();
        assertTrue(message.startsWith("a GuestVm cannot be a constructor parameter") && message.contains("static @Guest field"),
                message);
    }

    /** A parameter of a set-up method: skipped like a test's when there is no image. */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class SetUpParameterExample {
        @BeforeEach
        void setUp(GuestVm vm) {
            throw new AssertionError("set up without an image: " + vm);
        }

        @Test
        void needsTheSetUp() {
        }
    }

    @Test
    void withoutAnImageASetUpMethodsGuestSkipsTheTestsWithTheReason() {
        Map<String, TestExecutionResult> results = withoutAnImage("false", () -> run(SetUpParameterExample.class));
        TestExecutionResult result = results.get("needsTheSetUp()");
        assertNotNull(result, results.toString());
        assertEquals(TestExecutionResult.Status.ABORTED, result.getStatus(), String.valueOf(result));
        assertTrue(result.getThrowable().orElseThrow().getMessage().startsWith("no guest image at /nonexistent/agentd-guest"),
                String.valueOf(result));
    }

    /** Set-up that takes a guest from an interface's default method. */
    interface SetUpFromAnInterface {
        @BeforeEach
        default void setUp(GuestVm vm) {
            throw new AssertionError("set up without an image: " + vm);
        }
    }

    /** An interface's set-up method takes a guest (a review: its skip became a ParameterResolutionException). */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class InterfaceSetUpExample implements SetUpFromAnInterface {
        @Test
        void needsTheSetUp() {
        }
    }

    /** An enclosing class's set-up method takes a guest, for its @Nested tests too. */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class NestedSetUpExample {
        @BeforeEach
        void setUp(GuestVm vm) {
            throw new AssertionError("set up without an image: " + vm);
        }

        @org.junit.jupiter.api.Nested
        class Inner {
            @Test
            void needsTheSetUp() {
            }
        }
    }

    @Test
    void withoutAnImageAnInterfacesOrAnEnclosingClasssSetUpGuestSkipsTheTests() {
        for (Class<?> example : List.of(InterfaceSetUpExample.class, NestedSetUpExample.class)) {
            Map<String, TestExecutionResult> results = withoutAnImage("false", () -> run(example));
            TestExecutionResult result = results.get("needsTheSetUp()");
            assertNotNull(result, example + ": " + results);
            assertEquals(TestExecutionResult.Status.ABORTED, result.getStatus(), example + ": " + result);
        }
    }

    /** Two VMs for a test that leaves its thread's interrupt status set (as the idiom restores it, or after @Timeout). */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class InterruptedExample {
        static final List<GuestVm> seen = new ArrayList<>();

        @Test
        void leavesTheInterruptStatusSet(@Guest(memoryMib = 512, vcpus = 1) GuestVm a,
                @Guest(memoryMib = 512, vcpus = 1) GuestVm b) {
            seen.add(a);
            seen.add(b);
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void everyVmOfATestPowersOffCleanlyEvenWhenTheTestLeftItsThreadInterrupted() throws Exception {
        GuestVmExtension.requireImage();
        try {
            TestExecutionResult result = run(InterruptedExample.class).get("leavesTheInterruptStatusSet(GuestVm, GuestVm)");
            assertNotNull(result);
            assertEquals(TestExecutionResult.Status.SUCCESSFUL, result.getStatus(), String.valueOf(result));
            assertEquals(2, InterruptedExample.seen.size());
            for (GuestVm vm : InterruptedExample.seen) {
                assertEquals(OptionalInt.of(0), vm.exitStatus(), vm + " did not power off");
                assertFalse(Files.exists(vm.runDir()), vm + ": a clean power-off removes the run directory");
            }
        } finally {
            for (GuestVm vm : InterruptedExample.seen) {
                vm.close(); // a VM the extension left running
            }
        }
    }

    /** A class's VM and a test's own: the test's is closed after its test, not with the class's. */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    @org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
    static class ClassAndTestVmExample {
        @Guest(memoryMib = 512, vcpus = 1)
        static GuestVm shared;
        static GuestVm own;

        @Test
        @org.junit.jupiter.api.Order(1)
        void takesItsOwn(@Guest(memoryMib = 512, vcpus = 1) GuestVm vm) {
            own = vm;
        }

        @Test
        @org.junit.jupiter.api.Order(2)
        void findsTheFirstTestsVmClosed() {
            assertTrue(own.exitStatus().isPresent(), "the first test's own VM still runs");
            assertFalse(shared.exitStatus().isPresent(), "the class's VM runs until the class ends");
        }
    }

    /**
     * Before, a test's VMs went into its class's list whenever the class had one (a store's lookup
     * falls back to its parent's), and were closed only when the class ended: ten tests taking a
     * GuestVm each ran eleven guests at once.
     */
    @Test
    void aTestsOwnVmIsClosedAfterItsTestWhenTheClassHasOneToo() throws Exception {
        GuestVmExtension.requireImage();
        try {
            Map<String, TestExecutionResult> results = run(ClassAndTestVmExample.class);
            assertEquals(TestExecutionResult.Status.SUCCESSFUL, results.get("takesItsOwn(GuestVm)").getStatus(),
                    results.toString());
            TestExecutionResult second = results.get("findsTheFirstTestsVmClosed()");
            assertEquals(TestExecutionResult.Status.SUCCESSFUL, second.getStatus(), String.valueOf(second));
            assertEquals(OptionalInt.of(0), ClassAndTestVmExample.shared.exitStatus(), "the class's VM, after the class");
        } finally {
            for (GuestVm vm : new GuestVm[] {ClassAndTestVmExample.shared, ClassAndTestVmExample.own}) {
                if (vm != null) {
                    vm.close(); // one the extension left running
                }
            }
        }
    }

    /** An instance field of the enclosing class, used by a @Nested test: a VM per nested test too. */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class NestedExample {
        @Guest
        GuestVm vm;

        @Nested
        class Inner {
            @Test
            void usesTheEnclosingVm() {
                assertNotNull(vm, "the enclosing class's @Guest field was not filled");
            }
        }
    }

    @Test
    void aNestedTestGetsTheEnclosingInstancesGuests(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(QemuProcesses.find(QemuCommand.DEFAULT_BINARY) != null, "QEMU is not installed");
        // An image QEMU refuses at once: the boot is tried (and fails) instead of leaving the field null.
        Path image = FakeImage.create(tmp.resolve("img"));
        TestExecutionResult result = withProperties(Map.of(GuestImage.DIR_PROPERTY, image.toString(), Accel.PROPERTY, "tcg"),
                () -> run(NestedExample.class).get("usesTheEnclosingVm()"));
        assertNotNull(result);
        Throwable failure = result.getThrowable().orElseThrow();
        assertInstanceOf(GuestVmException.class, failure, failure.toString());
        assertTrue(failure.getMessage().contains("QEMU exited with status"), failure.getMessage());
        deleteRunDir(failure);
    }

    /** Deletes the run directory {@code failedBoot} names: a failed boot keeps it for a look, a fake image's is not worth one. */
    private static void deleteRunDir(Throwable failedBoot) throws Exception {
        Matcher runDir = Pattern.compile("run directory (/\\S+),").matcher(failedBoot.getMessage());
        assertTrue(runDir.find(), failedBoot.getMessage());
        try (Stream<Path> files = Files.walk(Path.of(runDir.group(1)))) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** A static @Guest field in a class without @ExtendWith(GuestVmExtension.class). */
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class StaticFieldAloneExample {
        @Guest
        static GuestVm vm;

        @Test
        void usesTheVm() {
            assertNotNull(vm, "the @Guest field was left null");
        }
    }

    /** An instance @Guest field in a class without @ExtendWith(GuestVmExtension.class). */
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class InstanceFieldAloneExample {
        @Guest
        GuestVm vm;

        @Test
        void usesTheVm() {
            assertNotNull(vm, "the @Guest field was left null");
        }
    }

    /** A @Guest parameter in a class without @ExtendWith(GuestVmExtension.class). */
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class ParameterAloneExample {
        @Test
        void usesTheVm(@Guest GuestVm vm) {
            throw new AssertionError("ran without an image: " + vm);
        }
    }

    /**
     * @Guest brings the extension itself: without the class's @ExtendWith the field was left null
     * without a word (the test then failed on its null), and the parameter had no resolver.
     */
    @Test
    void aGuestWithoutTheClasssExtendWithIsStillBootedOrSkipped() {
        for (Class<?> example : List.of(StaticFieldAloneExample.class, InstanceFieldAloneExample.class,
                ParameterAloneExample.class)) {
            Map<String, TestExecutionResult> results = withoutAnImage("false", () -> run(example));
            // A static field's boot is the class's: the class is skipped, and its tests are never run.
            TestExecutionResult result = example == StaticFieldAloneExample.class ? results.get(example.getName().substring(example.getPackageName().length() + 1))
                    : results.get(example == ParameterAloneExample.class ? "usesTheVm(GuestVm)" : "usesTheVm()");
            assertNotNull(result, example + ": " + results);
            assertEquals(TestExecutionResult.Status.ABORTED, result.getStatus(), example + ": " + result);
            assertTrue(result.getThrowable().orElseThrow().getMessage().startsWith("no guest image at /nonexistent/agentd-guest"),
                    example + ": " + result);
        }
    }

    /** The class's @ExtendWith and a @Guest parameter: both name the extension. */
    @ExtendWith(GuestVmExtension.class)
    @EnabledIfSystemProperty(named = RUNNING_EXAMPLE, matches = "true")
    static class ExtendWithAndGuestExample {
        @Test
        void usesTheVm(@Guest GuestVm vm) {
            throw new AssertionError("booted a fake image: " + vm);
        }
    }

    /**
     * JUnit registers an extension class once, however many times it is named: two registrations would
     * each boot a class's VM, and two resolvers of one parameter fail it ("competing ParameterResolvers").
     */
    @Test
    void theClasssExtendWithAndGuestRegisterTheExtensionOnce(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(QemuProcesses.find(QemuCommand.DEFAULT_BINARY) != null, "QEMU is not installed");
        Path image = FakeImage.create(tmp.resolve("img")); // QEMU refuses it at once: the boot is tried, and fails
        TestExecutionResult result = withProperties(Map.of(GuestImage.DIR_PROPERTY, image.toString(), Accel.PROPERTY, "tcg"),
                () -> run(ExtendWithAndGuestExample.class).get("usesTheVm(GuestVm)"));
        assertNotNull(result);
        Throwable failure = result.getThrowable().orElseThrow();
        assertTrue(failure.getMessage().startsWith("could not boot a guest for"), failure.toString());
        assertInstanceOf(GuestVmException.class, failure.getCause(), failure.toString());
        deleteRunDir(failure.getCause());
    }

    @Test
    void aFailedTestCarriesTheConsoleAndTheAgentLogAndTheVmIsClosedAfterTheClass() {
        GuestVmExtension.requireImage();
        Map<String, TestExecutionResult> results = run(Example.class);
        assertNotNull(results.get("runsACommand()"), results.toString());
        assertEquals(TestExecutionResult.Status.SUCCESSFUL, results.get("runsACommand()").getStatus(), results.toString());
        TestExecutionResult failed = results.get("fails()");
        assertEquals(TestExecutionResult.Status.FAILED, failed.getStatus());
        Throwable failure = failed.getThrowable().orElseThrow();
        assertTrue(failure.getMessage().contains("fails on purpose"), failure.toString());
        assertEquals(1, failure.getSuppressed().length, "one VM, one diagnostics");
        GuestDiagnostics diagnostics = assertInstanceOf(GuestDiagnostics.class, failure.getSuppressed()[0]);
        assertTrue(diagnostics.getMessage().contains("--- console, last 60 lines"), diagnostics.getMessage());
        assertTrue(diagnostics.getMessage().contains("init: starting agentd"), diagnostics.getMessage());
        assertTrue(diagnostics.getMessage().contains("--- agent log, last 100 of "), diagnostics.getMessage());
        // A failing @BeforeEach (fixtures put into the guest, say) gets them too.
        Throwable setUp = results.get("setUpFails()").getThrowable().orElseThrow();
        assertTrue(setUp.getMessage().contains("set-up fails on purpose"), setUp.toString());
        assertEquals(1, setUp.getSuppressed().length, "a failed set-up carries the VM's diagnostics");
        assertInstanceOf(GuestDiagnostics.class, setUp.getSuppressed()[0]);
        assertNotNull(Example.seen);
        assertEquals(OptionalInt.of(0), Example.seen.exitStatus(), "the class's VM powered off after its last test");
    }

    @Test
    void withoutAnImageTheTestIsSkippedWithTheReason() {
        TestExecutionResult result = withoutAnImage("false", () -> run(ParameterExample.class).get("needsAGuest(GuestVm)"));
        assertEquals(TestExecutionResult.Status.ABORTED, result.getStatus(), String.valueOf(result));
        assertTrue(result.getThrowable().orElseThrow().getMessage()
                .startsWith("no guest image at /nonexistent/agentd-guest: build one with scripts/guest/build-image"));
    }

    @Test
    void withoutAnImageWhereOneIsRequiredTheTestFails() {
        TestExecutionResult result = withoutAnImage("true", () -> run(ParameterExample.class).get("needsAGuest(GuestVm)"));
        assertEquals(TestExecutionResult.Status.FAILED, result.getStatus(), String.valueOf(result));
        String message = result.getThrowable().orElseThrow().getMessage();
        assertTrue(message.startsWith("no guest image at /nonexistent/agentd-guest") && message.contains("required"), message);
    }

    /** Runs {@code body} with no image where the kit looks and {@link GuestImage#REQUIRED_PROPERTY} = {@code required}. */
    private static <T> T withoutAnImage(String required, Supplier<T> body) {
        return withProperties(Map.of(GuestImage.DIR_PROPERTY, "/nonexistent/agentd-guest",
                GuestImage.REQUIRED_PROPERTY, required), body);
    }

    /** Runs {@code body} with the system properties {@code set}, then restores them. */
    private static <T> T withProperties(Map<String, String> set, Supplier<T> body) {
        Map<String, String> before = new HashMap<>();
        set.keySet().forEach(name -> before.put(name, System.getProperty(name)));
        set.forEach(System::setProperty);
        try {
            return body.get();
        } finally {
            before.forEach(GuestVmExtensionTest::restore);
        }
    }

    private static void restore(String name, String value) {
        if (value == null) {
            System.clearProperty(name);
        } else {
            System.setProperty(name, value);
        }
    }

    /** Runs the tests of {@code example}; the results by test display name. */
    private static Map<String, TestExecutionResult> run(Class<?> example) {
        Map<String, TestExecutionResult> results = new ConcurrentHashMap<>();
        List<String> skipped = new ArrayList<>();
        System.setProperty(RUNNING_EXAMPLE, "true");
        try {
            LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(example)).build(),
                    new TestExecutionListener() {
                        @Override
                        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                            // Containers too: a class whose VM did not boot fails there, with the reason.
                            results.put(id.getDisplayName(), result);
                        }

                        @Override
                        public void executionSkipped(TestIdentifier id, String reason) {
                            skipped.add(id.getDisplayName() + ": " + reason);
                        }
                    });
        } finally {
            System.clearProperty(RUNNING_EXAMPLE);
        }
        assertTrue(skipped.isEmpty(), "skipped: " + skipped);
        return results;
    }
}
