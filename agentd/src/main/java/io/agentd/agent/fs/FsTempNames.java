package io.agentd.agent.fs;

import io.agentd.protocol.Utf8Text;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The name of an atomic upload's temporary file: {@code .NAME.agentd-XXXXXXXX} beside its
 * destination. A file name may have 255 bytes (NAME_MAX), and the 17 bytes this adds would push a
 * long one past it (ENAMETOOLONG: such a file could not be uploaded at all), so NAME is cut to fit,
 * at a character's boundary in UTF-8 (the bytes the kernel counts). The name only has to be
 * recognisable and unique in its directory, which the random part and O_EXCL make it.
 */
final class FsTempNames {
    static final int NAME_MAX = 255;
    private static final String MARK = ".agentd-";
    /** Names tried before a clash is reported: one in 2^32 each, so more than one means someone is guessing. */
    private static final int ATTEMPTS = 10;

    /** A temporary file made and opened, and its path. */
    record Created(Path path, FileChannel channel) {}

    private FsTempNames() {}

    /** The temporary name for destination name {@code name}, with {@code random}'s low 32 bits. */
    static String of(String name, long random) {
        String suffix = MARK + String.format("%08x", random & 0xffff_ffffL);
        int room = NAME_MAX - 1 - suffix.length(); // the leading dot; the suffix is ASCII
        return "." + Utf8Text.prefix(name, room) + suffix;
    }

    /**
     * A new file under a temporary name beside {@code destination}, opened with {@code options}
     * (which hold CREATE_NEW: O_CREAT|O_EXCL, so never a file or link already there) and {@code
     * attributes}; another name is tried while one is taken, and the last clash is thrown.
     */
    static Created create(Path destination, Set<? extends OpenOption> options, FileAttribute<?>... attributes)
            throws IOException, FsFailure {
        if (!options.contains(StandardOpenOption.CREATE_NEW)) {
            throw new IllegalArgumentException("a temporary file is made new, never opened: " + options);
        }
        for (int attempt = 1; ; attempt++) {
            Path temp = destination.resolveSibling(of(destination.getFileName().toString(),
                    ThreadLocalRandom.current().nextLong()));
            try {
                // Made in the directory as opened for a request with a user (NoMagicLinks); its
                // later rename and removal are by this name. An atomic upload's destination is its
                // name in the directory the upload holds (/proc/self/fd/D/NAME), so this is too.
                return new Created(temp, NoMagicLinks.inItsDirectory(temp, "create " + temp,
                        at -> FileChannel.open(at, options, attributes)));
            } catch (FileAlreadyExistsException clash) {
                if (attempt == ATTEMPTS) {
                    throw clash;
                }
            }
        }
    }
}
