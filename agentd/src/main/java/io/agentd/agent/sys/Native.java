package io.agentd.agent.sys;

import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.constants.platform.Errno;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Loads libc once. jffi (under jnr-ffi) loads its JNI stub from {@code -Djffi.boot.library.path}
 * when set (the launcher points it at an extracted copy, as the guest root is read-only) and only
 * otherwise extracts it to java.io.tmpdir; nothing here touches /tmp itself.
 */
public final class Native {
    private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
    private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

    private Native() {}

    public static LibC libc() {
        return LIBC;
    }

    public static Runtime runtime() {
        return RUNTIME;
    }

    /** errno of this thread's last libc call through {@link #libc()}. */
    public static int errno() {
        return RUNTIME.getLastError();
    }

    /** "ENOENT" for 2; "errno 4242" for a number the platform does not name. */
    public static String errnoName(int errno) {
        Errno e = Errno.valueOf(errno);
        return e.defined() ? e.name() : "errno " + errno;
    }

    /** "No such file or directory" for 2. */
    public static String errnoDescription(int errno) {
        Errno e = Errno.valueOf(errno);
        return e.defined() ? e.description() : "errno " + errno;
    }

    /** A C string (UTF-8, NUL-terminated) for a byte[] parameter. */
    public static byte[] cString(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] c = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, c, 0, utf8.length);
        return c;
    }

    /**
     * A NULL-terminated char*[] of UTF-8 strings in native memory (argv, envp). The strings live in
     * a block the returned pointer keeps reachable; keep the pointer reachable across the call.
     */
    public static Pointer cStringArray(List<String> strings) {
        byte[][] encoded = new byte[strings.size()][];
        long total = 0;
        for (int i = 0; i < encoded.length; i++) {
            encoded[i] = cString(strings.get(i));
            total += encoded[i].length;
        }
        int pointerSize = RUNTIME.addressSize();
        Pointer array = Memory.allocateDirect(RUNTIME, (encoded.length + 1) * pointerSize + (int) total, true);
        long offset = (long) (encoded.length + 1) * pointerSize;
        for (int i = 0; i < encoded.length; i++) {
            array.put(offset, encoded[i], 0, encoded[i].length);
            array.putAddress((long) i * pointerSize, array.address() + offset);
            offset += encoded[i].length;
        }
        // the last slot stays NULL (cleared memory)
        return array;
    }
}
