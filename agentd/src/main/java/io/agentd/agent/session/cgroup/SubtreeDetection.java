package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.MountInfo;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the agent's subtree is when --cgroup-root does not say: found from where cgroup2 is mounted
 * (/proc/self/mountinfo) and where the agent sits in it (/proc/self/cgroup), as {@link CgroupRoot}
 * describes; or why there is none.
 *
 * @param dir    the subtree, or null when there is none
 * @param reason why there is none, or null
 */
record SubtreeDetection(Path dir, String reason) {
    /** Where the guest's init and systemd mount cgroup2, then the hybrid layout's unified mount. */
    static final List<String> PREFERRED_MOUNTS = List.of("/sys/fs/cgroup", "/sys/fs/cgroup/unified");

    /** The subtree from the texts of /proc/self/mountinfo and /proc/self/cgroup (no file access). */
    static SubtreeDetection from(String mountinfo, String selfCgroup) {
        String mount = null;
        String mountRoot = null;
        for (String line : mountinfo.split("\n")) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash < 6 || dash + 1 >= f.length || !f[dash + 1].equals("cgroup2")) {
                continue;
            }
            if (!f[5].startsWith("rw")) {
                continue; // read-only: the agent cannot make cgroups there
            }
            String point = MountInfo.unescape(f[4]);
            if (mount == null || rank(point) < rank(mount)) {
                mount = point;
                mountRoot = MountInfo.unescape(f[3]);
            }
        }
        if (mount == null) {
            return new SubtreeDetection(null, "no writable cgroup2 mount in /proc/self/mountinfo");
        }
        String self = null;
        for (String line : selfCgroup.split("\n")) {
            if (line.startsWith("0::")) {
                self = line.substring(3).trim();
            }
        }
        if (self == null) {
            return new SubtreeDetection(null, "cgroup2 is mounted at " + mount + " but /proc/self/cgroup has no 0:: line");
        }
        if (!mountRoot.equals("/") && self.startsWith(mountRoot)) {
            self = self.substring(mountRoot.length()); // a mount of a subtree (cgroup namespaces)
        }
        Path own = Path.of(mount, self.isEmpty() ? "/" : self).normalize();
        Path root = Path.of(mount);
        if (own.equals(root)) {
            return new SubtreeDetection(root.resolve(CgroupRoot.SUBTREE), null);
        }
        if (own.getFileName().toString().equals(CgroupRoot.AGENT_LEAF)) {
            return new SubtreeDetection(own.getParent(), null);
        }
        return new SubtreeDetection(own.resolve(CgroupRoot.SUBTREE), null);
    }

    /** A preferred mount point's place in the list; any other comes after them, the first one first. */
    private static int rank(String mountPoint) {
        int i = PREFERRED_MOUNTS.indexOf(mountPoint);
        return i < 0 ? PREFERRED_MOUNTS.size() : i;
    }
}
