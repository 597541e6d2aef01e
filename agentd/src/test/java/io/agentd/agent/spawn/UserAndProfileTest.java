package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * User switching, HOME and the restricted profile. Needs root (CI runs as root): the helper changes
 * credentials, and the setup creates a test user and groups with useradd/groupadd (idempotent):
 * agentd-test, primary group agentd-test-primary, supplementary group agentd-test-extra, HOME
 * /home/agentd-test (not created). Also uses Debian's nobody (65534, nogroup, HOME /nonexistent).
 */
@Timeout(60)
class UserAndProfileTest {
    private static final String USER = "agentd-test";
    private static final int CAP_SYS_ADMIN = 21;

    @BeforeAll
    static void createTestUser() throws Exception {
        ChildIo.Run r = ChildIo.run(ChildIo.sh(
                "getent group agentd-test-primary >/dev/null || groupadd agentd-test-primary || exit 1; "
                        + "getent group agentd-test-extra >/dev/null || groupadd agentd-test-extra || exit 1; "
                        + "id " + USER + " >/dev/null 2>&1 || useradd -M -N -g agentd-test-primary "
                        + "-G agentd-test-extra -d /home/agentd-test -s /bin/sh " + USER));
        assertEquals(0, r.status().code(), "creating the test user (needs root): " + r.stderr());
    }

    private static String runAs(String user, String script, List<String> requestEnv, boolean restricted)
            throws SpawnFailure {
        SpawnSpec spec = new SpawnSpec("sh", List.of("-c", script), EnvBuilder.build(List.of(), requestEnv, false),
                "/", user, false, 24, 80, List.of(), restricted ? Profile.RESTRICTED : Profile.DEFAULT);
        ChildIo.Run r = ChildIo.run(spec);
        assertEquals(0, r.status().code(), "script failed: " + r.stderr());
        return r.stdout();
    }

    @Test
    void idShowsTheUsersUidGidAndSupplementaryGroups() throws Exception {
        String expected = runAs(null, "id -u " + USER + "; id -g " + USER + "; id -G " + USER, List.of(), false);
        assertEquals(expected, runAs(USER, "id -u; id -g; id -G", List.of(), false));
        assertEquals("agentd-test\nagentd-test-primary agentd-test-extra\n",
                runAs(USER, "id -un; id -Gn", List.of(), false));
    }

    @Test
    void nameColonGroupSetsThePrimaryGroupAndKeepsSupplementaryOnes() throws Exception {
        assertEquals("agentd-test\nnogroup\nnogroup agentd-test-extra\n",
                runAs(USER + ":nogroup", "id -un; id -gn; id -Gn", List.of(), false));
    }

    @Test
    void uidColonGidNumeric() throws Exception {
        assertEquals("65534 65534 65534\n", runAs("65534:65534", "echo $(id -u) $(id -g) $(id -G)", List.of(), false));
    }

    @Test
    void numericUidWithoutPasswdEntryIsAllowed() throws Exception {
        assertEquals("4242 4343 4343 /\n",
                runAs("4242:4343", "echo $(id -u) $(id -g) $(id -G) $HOME", List.of(), false));
        assertEquals("4242 4242 4242\n", runAs("4242", "echo $(id -u) $(id -g) $(id -G)", List.of(), false),
                "without a group the gid is the uid's number");
    }

    @Test
    void homeFromTheRequestWins() throws Exception {
        assertEquals("/custom\n", runAs("nobody", "echo $HOME", List.of("HOME=/custom"), false));
    }

    @Test
    void homeFromTheUsersPasswdEntry() throws Exception {
        assertEquals("/nonexistent\n", runAs("nobody", "echo $HOME", List.of(), false));
        assertEquals("/home/agentd-test\n", runAs(USER, "echo $HOME", List.of(), false));
    }

    @Test
    void homeOfTheAgentsOwnUserWhenNoUserIsRequested() throws Exception {
        assertEquals("/root\n", runAs(null, "echo $HOME", List.of(), false));
    }

    @Test
    void homeFromTheAgentDefaultsWinsOverPasswd() throws Exception {
        SpawnSpec spec = new SpawnSpec("sh", List.of("-c", "echo $HOME"),
                EnvBuilder.build(List.of("HOME=/agent-home"), List.of(), false), null, "nobody", false, 24, 80,
                List.of(), Profile.DEFAULT);
        assertEquals("/agent-home\n", ChildIo.run(spec).stdout());
    }

    @Test
    void restrictedProfileAsRoot() throws Exception {
        assumeAgentHasCapSysAdmin();
        Map<String, String> status = procStatus(runAs(null, "cat /proc/self/status", List.of(), true));
        assertEquals("1", status.get("NoNewPrivs"));
        assertCapClear(status, "CapEff");
        assertCapClear(status, "CapPrm");
        assertCapClear(status, "CapBnd");
        assertCapClear(status, "CapInh");
        assertEquals(0L, Long.parseUnsignedLong(status.get("CapAmb"), 16));
        assertTrue((Long.parseUnsignedLong(status.get("CapEff"), 16) & (1L << 0)) != 0,
                "root keeps its other capabilities (CAP_CHOWN)");
    }

    @Test
    void restrictedProfileAsAnotherUser() throws Exception {
        assumeAgentHasCapSysAdmin();
        Map<String, String> status = procStatus(runAs("nobody", "cat /proc/self/status", List.of(), true));
        assertEquals("1", status.get("NoNewPrivs"));
        assertCapClear(status, "CapEff");
        assertCapClear(status, "CapBnd");
        assertEquals("65534", status.get("Uid").split("\\s+")[0]);
    }

    @Test
    void withoutTheProfileRootKeepsTheAgentsCapabilities() throws Exception {
        Map<String, String> agent = procStatus(String.join("\n", Files.readAllLines(Path.of("/proc/self/status"))));
        Map<String, String> child = procStatus(runAs(null, "cat /proc/self/status", List.of(), false));
        assertEquals("0", child.get("NoNewPrivs"));
        assertEquals(agent.get("CapBnd"), child.get("CapBnd"));
        assertEquals(agent.get("CapEff"), child.get("CapEff"));
    }

    /** An unprivileged container may have dropped CAP_SYS_ADMIN already; then there is nothing to show. */
    private static void assumeAgentHasCapSysAdmin() throws Exception {
        Map<String, String> agent = procStatus(String.join("\n", Files.readAllLines(Path.of("/proc/self/status"))));
        assumeTrue((Long.parseUnsignedLong(agent.get("CapBnd"), 16) & (1L << CAP_SYS_ADMIN)) != 0,
                "CAP_SYS_ADMIN is in the agent's bounding set");
    }

    @Test
    void ptySessionAsAnotherUser() throws Exception {
        SpawnSpec spec = new SpawnSpec("sh", List.of("-c", "id -un; tty"), EnvBuilder.build(List.of(), List.of(), true),
                null, "nobody", true, 24, 80, List.of(), Profile.RESTRICTED);
        ChildIo.Run r = ChildIo.run(spec);
        String[] lines = r.stdout().split("\r\n");
        assertEquals("nobody", lines[0]);
        assertTrue(lines[1].startsWith("/dev/pts/"), r.stdout());
    }

    private static void assertCapClear(Map<String, String> status, String set) {
        long caps = Long.parseUnsignedLong(status.get(set), 16);
        assertEquals(0L, caps & (1L << CAP_SYS_ADMIN), set + " " + status.get(set) + " has CAP_SYS_ADMIN");
    }

    private static Map<String, String> procStatus(String text) {
        Map<String, String> fields = new HashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return fields;
    }
}
