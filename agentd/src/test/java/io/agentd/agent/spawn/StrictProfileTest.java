package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The strict profile: a root target, or any other, starts with no capability in any of the five
 * sets and no_new_privs, and a setuid-root program run inside it gains nothing (neither uid 0 nor a
 * capability). Needs root: the agent must hold the capabilities to give up, and the setuid program
 * is made with chown root and chmod 4755.
 */
@Timeout(60)
class StrictProfileTest {
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));
    private static final List<String> CAP_SETS = List.of("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb");
    /** A setuid-root copy of cat, on a filesystem mounted with setuid honoured, reachable by nobody. */
    private static Path setuidCat;

    @BeforeAll
    static void setuidRootCat() throws Exception {
        Path dir = Files.createDirectories(MODULE.resolve("target/strict-profile"));
        setuidCat = dir.resolve("cat");
        ChildIo.Run r = ChildIo.run(ChildIo.sh("chmod 755 " + dir + " && cp /bin/cat " + setuidCat
                + " && chown root:root " + setuidCat + " && chmod 4755 " + setuidCat));
        assertEquals(0, r.status().code(), r.stderr());
    }

    private static Map<String, String> status(String user, Profile profile, String cat) throws Exception {
        SpawnSpec spec = new SpawnSpec(cat, List.of("/proc/self/status"), EnvBuilder.build(List.of(), List.of(), false),
                "/", user, false, 24, 80, List.of(), profile);
        ChildIo.Run r = ChildIo.run(spec);
        assertEquals(0, r.status().code(), r.stderr());
        Map<String, String> fields = new HashMap<>();
        for (String line : r.stdout().split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return fields;
    }

    private static void assertNoCapabilities(Map<String, String> status, String as) {
        for (String set : CAP_SETS) {
            assertEquals(0L, Long.parseUnsignedLong(status.get(set), 16), as + ": " + set + " " + status.get(set));
        }
        assertEquals("1", status.get("NoNewPrivs"), as);
    }

    private static String euid(Map<String, String> status) {
        return status.get("Uid").split("\\s+")[1];
    }

    @Test
    void aRootTargetHasNoCapabilityInAnySet() throws Exception {
        Map<String, String> status = status(null, Profile.STRICT, "cat");
        assertNoCapabilities(status, "root, strict");
        assertEquals("0", euid(status), "still uid 0: the profile takes capabilities, not the uid");
    }

    @Test
    void anotherUserHasNoCapabilityInAnySet() throws Exception {
        Map<String, String> status = status("nobody", Profile.STRICT, "cat");
        assertNoCapabilities(status, "nobody, strict");
        assertEquals("65534", euid(status));
    }

    @Test
    void aSetuidRootProgramGainsNothing() throws Exception {
        Map<String, String> loose = status("nobody", Profile.DEFAULT, setuidCat.toString());
        assertEquals("0", euid(loose), "the program is setuid root (the default profile shows it): " + loose);
        assertNotEquals(0L, Long.parseUnsignedLong(loose.get("CapEff"), 16), "default: root's capabilities");

        Map<String, String> asNobody = status("nobody", Profile.STRICT, setuidCat.toString());
        assertNoCapabilities(asNobody, "nobody running a setuid-root program, strict");
        assertEquals("65534", euid(asNobody), "no_new_privs: the setuid bit is ignored");

        Map<String, String> asRoot = status(null, Profile.STRICT, setuidCat.toString());
        assertNoCapabilities(asRoot, "root running a setuid-root program, strict");
    }

    /**
     * sysctl and sysfs check uid 0's mode bits, not a capability: a root target of a confined profile
     * wrote /proc/sys/kernel/core_pattern (whose "|PROG" the kernel runs as root with every
     * capability at the next crash), so its profile could be undone. It sees them read-only now, in
     * a mount namespace of its own, and /dev's entries too (devices still open, /dev/shm writable);
     * the agent's own namespace keeps them writable. The same
     * value is written back, so the test changes nothing of the machine's where it is not refused.
     */
    @Test
    void aConfinedRootTargetSeesTheKernelsTunablesReadOnly() throws Exception {
        String ownNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")).toString();
        String script = "v=$(cat /proc/sys/kernel/core_pattern); printf '%s\\n' \"$v\" > /proc/sys/kernel/core_pattern"
                + " && echo sysctl-written; t=/sys/kernel/mm/transparent_hugepage/enabled;"
                + " m=$(sed 's/.*\\[\\(.*\\)\\].*/\\1/' $t); echo \"$m\" > $t && echo sysfs-written;"
                + " mkdir /dev/agentd-probe-$$ && rmdir /dev/agentd-probe-$$ && echo dev-entry-made;"
                + " echo > /dev/null && test -w /dev/shm && echo devices-work;"
                + " readlink /proc/self/ns/mnt; true";
        for (Profile profile : List.of(Profile.STRICT, Profile.RESTRICTED)) {
            ChildIo.Run r = ChildIo.run(new SpawnSpec("sh", List.of("-c", script), EnvBuilder.build(List.of(), List.of(),
                    false), "/", null, false, 24, 80, List.of(), profile));
            assertEquals(2, r.stdout().split("\n").length, profile + ": nothing written: " + r.stdout() + r.stderr());
            assertTrue(r.stdout().startsWith("devices-work\n"), profile + ": " + r.stdout());
            assertEquals(3, r.stderr().split("Read-only file system", -1).length - 1, profile + ": " + r.stderr());
            assertNotEquals(ownNamespace, r.stdout().split("\n")[1], profile + ": a mount namespace of its own");
        }
        ChildIo.Run agents = ChildIo.run(new SpawnSpec("sh", List.of("-c", script), EnvBuilder.build(List.of(), List.of(),
                false), "/", null, false, 24, 80, List.of(), Profile.DEFAULT));
        assertEquals("sysctl-written\nsysfs-written\ndev-entry-made\ndevices-work\n" + ownNamespace + "\n", agents.stdout(),
                "the default profile: the agent's view, " + agents.stderr());
    }

    @Test
    void aStrictRootTargetCannotDoWhatNeedsACapability() throws Exception {
        Path file = Files.createTempFile(MODULE.resolve("target"), "strict", ".txt");
        SpawnSpec spec = new SpawnSpec("sh", List.of("-c", "chown 1 " + file + " && echo chowned;"
                + " mount -t tmpfs none /mnt 2>/dev/null && echo mounted; true"),
                EnvBuilder.build(List.of(), List.of(), false), "/", null, false, 24, 80, List.of(), Profile.STRICT);
        ChildIo.Run r = ChildIo.run(spec);
        assertEquals("", r.stdout(), "no CAP_CHOWN, no CAP_SYS_ADMIN: " + r.stderr());
        assertTrue(r.stderr().contains("Operation not permitted"), r.stderr());
    }
}
