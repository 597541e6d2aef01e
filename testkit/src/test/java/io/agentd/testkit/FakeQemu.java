package io.agentd.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** A shell script in QEMU's place, for what the kit does with a QEMU that fails in a given way. No VM is booted. */
final class FakeQemu {
    private FakeQemu() {
    }

    /**
     * Writes {@code dir/name}, which runs {@code body} with {@code $console} set to the file QEMU
     * would write the guest's console (ttyS0) to, and {@code "$@"} as QEMU's arguments.
     */
    static Path create(Path dir, String name, String body) throws IOException {
        Path script = dir.resolve(name);
        Files.writeString(script, "#!/bin/sh\nconsole=\n"
                + "for a in \"$@\"; do case \"$a\" in file:*) console=${a#file:};; esac; done\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }
}
