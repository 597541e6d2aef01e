package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.protocol.payload.ResourceUsage;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** cpu.stat, memory.peak and memory.events as the kernel writes them, into exited's usage. */
class CgroupFilesParsingTest {
    private static final String CPU_STAT = """
            usage_usec 1523456
            user_usec 1400000
            system_usec 123456
            core_sched.force_idle_usec 0
            nr_periods 0
            nr_throttled 0
            throttled_usec 0
            """;
    private static final String MEMORY_EVENTS = """
            low 0
            high 0
            max 17
            oom 1
            oom_kill 1
            oom_group_kill 0
            """;

    @Test
    void flatKeyedFilesSkipWhatIsNotAKeyAndANumber() {
        assertEquals(Map.of("a", 1L, "c", 3L), FlatKeyed.parse("a 1\nb max\n\nc 3\nnovalue\n"));
    }

    @Test
    void everythingKnownWithTheMemoryController() {
        assertEquals(new ResourceUsage(1400000L, 123456L, 67108864L, true),
                SessionCgroup.usageOf(CPU_STAT, "67108864\n", MEMORY_EVENTS));
    }

    @Test
    void noOomKillIsFalseNotUnknown() {
        assertEquals(Boolean.FALSE, SessionCgroup.usageOf(CPU_STAT, "4096\n", "oom 0\noom_kill 0\n").oomKilled());
    }

    @Test
    void withoutTheMemoryControllerOnlyCpuTimeIsKnown() {
        assertEquals(new ResourceUsage(1400000L, 123456L, null, null), SessionCgroup.usageOf(CPU_STAT, null, null));
    }

    @Test
    void nothingReadableIsAllUnknown() {
        assertEquals(ResourceUsage.UNKNOWN, SessionCgroup.usageOf(null, null, null));
        assertEquals(ResourceUsage.UNKNOWN, SessionCgroup.usageOf("usage_usec 5\n", "garbage", "low 0\n"));
    }
}
