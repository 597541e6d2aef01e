package io.agentd.agent.spawn;

import io.agentd.agent.sys.ShimLibrary;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * native-shim's libagentd-shim.so: the one call that starts a command (native-shim/agentd-shim.c),
 * a JNI method the library registers when it loads (agentd-jni.c). Loading checks that the methods
 * came from this file ({@link ShimLibrary}) and that the library's structs have the sizes
 * {@link ShimSpec} writes, so a library from another build is refused at start-up, not misread on
 * the first exec.
 */
final class NativeShim {
    private NativeShim() {}

    /**
     * @throws IllegalStateException when the file is missing, does not load, or does not match
     */
    static NativeShim load(Path path) {
        ShimLibrary.load(path);
        long specBytes;
        long resultBytes;
        try {
            specBytes = specSize();
            resultBytes = resultSize();
        } catch (LinkageError e) {
            throw new IllegalStateException("native shim " + path + " does not load: " + e.getMessage(), e);
        }
        if (specBytes != ShimSpec.SPEC_BYTES || resultBytes != ShimSpec.RESULT_BYTES) {
            throw new IllegalStateException("native shim " + path + " has another struct layout (spec "
                    + specBytes + " bytes, result " + resultBytes
                    + "; this agent writes " + ShimSpec.SPEC_BYTES + " and " + ShimSpec.RESULT_BYTES + ")");
        }
        return new NativeShim();
    }

    /** Runs agentd_spawn on a prepared spec; its result is in {@code spec}'s result block. */
    int spawn(ShimSpec spec) {
        return spawn(spec.spec(), spec.result());
    }

    /**
     * native-shim/agentd-shim.h. Package-private for NativeShimBufferTest, which passes buffers shorter
     * than the structs: the JNI method answers those -1 with {@code Os.errno()} EFAULT and writes no
     * result (rules 4 and 5 in agentd-jni.c).
     *
     * @return 0 (result: pid, pidfd) or -1 (result: stage, err, index)
     */
    static native int spawn(ByteBuffer spec, ByteBuffer result);

    private static native long specSize();

    private static native long resultSize();
}
