package io.agentd.protocol.payload;

/**
 * Extension fields of core.exec.exited: what the session's cgroup counted. Each is null when the agent
 * could not know it (no cgroup, or no controller for it) and is then omitted from the encoding.
 *
 * @param cpuUserUs       CPU time in user mode, microseconds (cpu.stat user_usec)
 * @param cpuSystemUs     CPU time in kernel mode, microseconds (cpu.stat system_usec)
 * @param memoryPeakBytes the most memory the session's processes held at once (memory.peak)
 * @param oomKilled       true when the kernel's OOM killer killed a process of the session
 *                        (memory.events oom_kill); false when it did not and the agent could tell
 */
public record ResourceUsage(Long cpuUserUs, Long cpuSystemUs, Long memoryPeakBytes, Boolean oomKilled) {
    public static final ResourceUsage UNKNOWN = new ResourceUsage(null, null, null, null);

    /** How many of the fields are known (encoded). */
    public int known() {
        return (cpuUserUs == null ? 0 : 1) + (cpuSystemUs == null ? 0 : 1) + (memoryPeakBytes == null ? 0 : 1)
                + (oomKilled == null ? 0 : 1);
    }
}
