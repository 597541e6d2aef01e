package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * SessionCgroup.remove on a directory standing for a session's cgroup (cgroup.events written by the
 * test): the cgroups a session made inside its own go with it, but only once nothing lives in it.
 */
class SessionCgroupRemoveTest {

    /**
     * A daemon the session left running still uses the cgroups it made: none is removed while the
     * subtree is populated. (Before, the first rmdir's EBUSY led to removing every empty child.)
     */
    @Test
    void theCgroupsMadeInsideAPopulatedCgroupAreLeftAlone() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-remove-");
        Path cgroup = Files.createDirectory(dir.resolve("s-1-2-3"));
        Files.writeString(cgroup.resolve("cgroup.events"), "populated 1\nfrozen 0\n");
        Path made = Files.createDirectories(cgroup.resolve("made/by/the/daemon"));
        assertFalse(new SessionCgroup(cgroup, false, false).remove());
        assertTrue(Files.isDirectory(made), "a cgroup the daemon made is kept while it lives");
    }

    @Test
    void onceNothingLivesTheyGoWithIt() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-remove-");
        Path cgroup = Files.createDirectory(dir.resolve("s-1-2-3"));
        Files.createDirectories(cgroup.resolve("made/by/the/daemon"));
        Files.createDirectories(cgroup.resolve("another"));
        assertTrue(new SessionCgroup(cgroup, false, false).remove());
        assertFalse(Files.exists(cgroup));
    }
}
