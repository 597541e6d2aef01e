package io.agentd.agent.spawn;

import java.nio.file.Files;
import java.nio.file.Path;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.IgnoreError;

/**
 * native-shim's libagentd-shim.so, loaded through jnr-ffi: the one call that starts a command
 * (native-shim/agentd-shim.c). Loading checks that the library's structs have the sizes
 * {@link ShimSpec} writes, so a library from another build is refused at start-up, not
 * misread on the first exec.
 */
final class NativeShim {
    /** The C functions; the struct layouts are documented in agentd-shim.c and written by ShimSpec. */
    public interface Library {
        /** native-shim/agentd-shim.h. @return 0 (result: pid, pidfd) or -1 (result: stage, err, index) */
        @IgnoreError
        int agentd_spawn(Pointer spec, Pointer result);

        @IgnoreError
        long agentd_spawn_spec_size();

        @IgnoreError
        long agentd_spawn_result_size();
    }

    private final Library library;

    private NativeShim(Library library) {
        this.library = library;
    }

    /**
     * @throws IllegalStateException when the file is missing, does not load, or does not match
     */
    static NativeShim load(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException("native shim " + path + " is not a file");
        }
        Library library;
        long specBytes;
        long resultBytes;
        try {
            library = LibraryLoader.create(Library.class).failImmediately().load(path.toAbsolutePath().toString());
            // Inside the try: failImmediately refuses a missing function only where jnr generates its
            // stubs (a JVM with -Djnr.ffi.asm.enabled=false binds at the first call, here).
            specBytes = library.agentd_spawn_spec_size();
            resultBytes = library.agentd_spawn_result_size();
        } catch (LinkageError | RuntimeException e) {
            throw new IllegalStateException("native shim " + path + " does not load: " + e.getMessage(), e);
        }
        if (specBytes != ShimSpec.SPEC_BYTES || resultBytes != ShimSpec.RESULT_BYTES) {
            throw new IllegalStateException("native shim " + path + " has another struct layout (spec "
                    + specBytes + " bytes, result " + resultBytes
                    + "; this agent writes " + ShimSpec.SPEC_BYTES + " and " + ShimSpec.RESULT_BYTES + ")");
        }
        return new NativeShim(library);
    }

    /** Runs agentd_spawn on a prepared spec; its result is in {@code spec}'s result block. */
    int spawn(ShimSpec spec) {
        return library.agentd_spawn(spec.spec(), spec.result());
    }
}
