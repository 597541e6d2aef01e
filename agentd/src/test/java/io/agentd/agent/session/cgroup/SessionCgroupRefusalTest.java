package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.FailureKind;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A session cgroup the kernel will not make (the subtree at its cgroup.max.descendants) is refused
 * resource_limit with the errno, as PROTOCOL.md types EAGAIN: it was other, errno null, its message a
 * Java exception's. Needs root and a writable cgroup2 (ThisMachinesCgroup2); skipped otherwise.
 */
class SessionCgroupRefusalTest {
    @Test
    void aCgroupTheKernelWillNotMakeIsAResourceLimitWithItsErrno() throws Exception {
        Path dir = ThisMachinesCgroup2.newCgroup("test-refusal");
        SessionCgroups cgroups = null;
        try {
            Files.writeString(dir.resolve("cgroup.max.descendants"), "0");
            CgroupRoot root = CgroupRoot.open(dir.toString());
            assertNotNull(root);
            cgroups = new SessionCgroups(root);
            SessionCgroups refusing = cgroups;
            ExecFailed failed = assertThrows(CgroupRefusal.class, () -> refusing.create(null, null)).failure();
            assertEquals(FailureKind.RESOURCE_LIMIT.wire(), failed.kind(), failed.toString());
            assertEquals(Integer.valueOf(LibC.EAGAIN), failed.errno(), failed.toString());
            assertTrue(failed.message().contains("Resource temporarily unavailable (EAGAIN)"), failed.message());
        } finally {
            if (cgroups != null) {
                cgroups.killAndRemoveAll();
            }
            Files.deleteIfExists(dir);
        }
    }
}
