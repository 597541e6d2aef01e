package io.agentd.agent.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads native-shim's libagentd-shim.so, named by the {@value #PROPERTY} system property (the
 * launcher and the test build set it): the JNI methods of {@link LibC} and of the spawn
 * (io.agentd.agent.spawn.NativeShim) are registered by the library's JNI_OnLoad
 * (native-shim/agentd-jni.c). One library per process: a second one would register the same methods
 * again, and a call made in one copy would read its errno from the other's.
 */
public final class ShimLibrary {
    public static final String PROPERTY = "agentd.shim.library";

    /** The real path of the library loaded, or null before. */
    private static Path loaded;

    private ShimLibrary() {}

    /**
     * Loads the library the property names (again: a no-op).
     *
     * @throws IllegalStateException when the property is not set, or the file is missing or does not load
     */
    public static void load() {
        load(configuredPath());
    }

    /**
     * The library the {@value #PROPERTY} property names.
     *
     * @throws IllegalStateException when the property is not set
     */
    public static Path configuredPath() {
        String path = System.getProperty(PROPERTY);
        if (path == null || path.isEmpty()) {
            throw new IllegalStateException("system property " + PROPERTY + " is not set");
        }
        return Path.of(path);
    }

    /**
     * Loads {@code library} and checks the agent's methods are now its; a no-op once it is loaded.
     *
     * @throws IllegalStateException when the file is missing, does not load, is not the native shim, or
     *                               another copy of the shim is loaded already
     */
    public static synchronized void load(Path library) {
        if (!Files.isRegularFile(library)) {
            throw new IllegalStateException("native shim " + library + " is not a file");
        }
        Path real = realPath(library);
        if (real.equals(loaded)) {
            return;
        }
        if (loaded != null) {
            throw new IllegalStateException("native shim " + library + " does not load: another copy, " + loaded
                    + ", is loaded already");
        }
        String from;
        try {
            System.load(real.toString());
            from = LibC.loadedFrom();
        } catch (LinkageError e) {
            throw new IllegalStateException("native shim " + library + " does not load: " + e.getMessage(), e);
        }
        if (from == null || !realPath(Path.of(from)).equals(real)) {
            throw new IllegalStateException("native shim " + library + " does not load: it is not the native shim"
                    + " (the agent's methods are " + (from == null ? "from an unknown file)" : from + "'s)"));
        }
        loaded = real;
    }

    private static Path realPath(Path file) {
        try {
            return file.toRealPath();
        } catch (IOException e) {
            return file.toAbsolutePath().normalize();
        }
    }
}
