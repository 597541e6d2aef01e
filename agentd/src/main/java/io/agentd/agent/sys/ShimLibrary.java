package io.agentd.agent.sys;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads native-shim's libagentd-shim.so, named by the {@value #PROPERTY} system property (the
 * launcher and the test build set it): the JNI methods of {@link LibC} and of the spawn
 * (io.agentd.agent.spawn.NativeShim) are registered by the library's JNI_OnLoad
 * (native-shim/agentd-jni.c).
 */
public final class ShimLibrary {
    public static final String PROPERTY = "agentd.shim.library";

    private ShimLibrary() {}

    /**
     * Loads the library the property names (again: a no-op).
     *
     * @throws IllegalStateException when the property is not set, or the file is missing or does not load
     */
    public static void load() {
        String path = System.getProperty(PROPERTY);
        if (path == null || path.isEmpty()) {
            throw new IllegalStateException("system property " + PROPERTY + " is not set");
        }
        load(Path.of(path));
    }

    /** @throws IllegalStateException when the file is missing or does not load */
    public static void load(Path library) {
        if (!Files.isRegularFile(library)) {
            throw new IllegalStateException("native shim " + library + " is not a file");
        }
        try {
            System.load(library.toAbsolutePath().toString());
        } catch (LinkageError e) {
            throw new IllegalStateException("native shim " + library + " does not load: " + e.getMessage(), e);
        }
    }
}
