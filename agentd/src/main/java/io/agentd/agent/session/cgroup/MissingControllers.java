package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Why a wanted controller ({@link CgroupRoot#CONTROLLERS}) is missing from the subtree, in words for
 * the start line and for the refusal of a limit that needs it: a write to cgroup.subtree_control that
 * failed, a cgroup above that holds processes or does not enable it, or none above that has it. The
 * agent changes nothing above its subtree, so the reasons name what the operator can change there.
 */
final class MissingControllers {
    /** The kernel's rule that leaves a cgroup with processes unable to give its children controllers. */
    private static final String NO_INTERNAL_PROCESSES = "cgroup v2 gives no controllers to the children of a cgroup"
            + " that holds processes (the no-internal-processes rule; the hierarchy's root alone is exempt)";

    private MissingControllers() {}

    /**
     * Why writing "+controller" to {@code dir}'s cgroup.subtree_control failed with {@code err}; for
     * EBUSY, who holds processes in {@code dir} ({@code agentPid}: the agent's, or -1 when it cannot be there).
     */
    static String enablingFailed(Path dir, int err, long agentPid) {
        String holding = err == LibC.EBUSY ? processesIn(dir, agentPid) : null;
        return "enabling it in " + dir.resolve("cgroup.subtree_control") + " failed: "
                + Os.errnoDescription(err) + " (" + Os.errnoName(err) + ")" + (holding == null ? ""
                        : "; " + dir + " holds processes (" + holding + "), and " + NO_INTERNAL_PROCESSES);
    }

    /**
     * Why {@code controller} is not in {@code dir}'s cgroup.controllers: the nearest cgroup above that
     * has it does not give it to its children (it holds processes, or its cgroup.subtree_control
     * lacks it), or no cgroup2 directory above has it (bound to cgroup v1, disabled, or not in this
     * kernel, as {@code procCgroups}, the text of /proc/cgroups, says). The agent changes nothing
     * above its subtree: these are the operator's (the service manager's, the container runtime's).
     */
    static String whyNotOffered(Path dir, String controller, String procCgroups, long agentPid) {
        Path subtree = dir.toAbsolutePath();
        Path top = subtree; // the highest cgroup2 directory looked at
        for (Path up = subtree.getParent(); up != null && Files.exists(up.resolve("cgroup.controllers"));
                up = up.getParent()) {
            top = up;
            if (!CgroupFs.readWords(up.resolve("cgroup.controllers")).contains(controller)) {
                continue;
            }
            // up has it, and the cgroup below it on the way down has not: up does not enable it
            boolean parent = up.equals(subtree.getParent());
            boolean hierarchyRoot = !Files.exists(up.resolve("cgroup.type")); // the root has no cgroup.type
            Set<String> pids = hierarchyRoot ? Set.of() : CgroupFs.readWords(up.resolve("cgroup.procs"));
            if (pids.isEmpty()) {
                return "not enabled in " + (parent ? "its parent's " : "the ") + up.resolve("cgroup.subtree_control")
                        + (parent ? "" : " (a cgroup above its parent)") + ", which may enable it (the agent changes"
                        + " nothing above its subtree)";
            }
            boolean agentThere = pids.contains(Long.toString(agentPid));
            String advice = parent && agentThere
                    ? "run the agent in a leaf cgroup named " + CgroupRoot.AGENT_LEAF + ", e.g. "
                            + up.resolve(CgroupRoot.AGENT_LEAF)
                            + (pids.size() == 1 ? "" : ", and the other processes in leaves of their own")
                            + " (systemd: DelegateSubgroup=" + CgroupRoot.AGENT_LEAF + "): the agent then makes the"
                            + " sessions' cgroups in " + up + " and enables the controllers there itself"
                    : "move them to a leaf cgroup of their own, or give --cgroup-root a subtree below a cgroup"
                            + " without processes";
            return (parent ? "its parent " : "") + up + " holds processes (" + processesText(pids, agentThere)
                    + "), and " + NO_INTERNAL_PROCESSES + ": " + advice;
        }
        for (String line : procCgroups.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4 || !f[0].equals(controller)) {
                continue;
            }
            if (f[3].equals("0")) {
                return "disabled on the kernel's command line (cgroup_disable=; /proc/cgroups)";
            }
            if (!f[1].equals("0")) {
                return "bound to cgroup v1 (/proc/cgroups: a hybrid or v1 layout), and cgroup2 has no controller"
                        + " that cgroup v1 has";
            }
        }
        return Files.exists(top.resolve("cgroup.type"))
                ? "in no cgroup.controllers up to " + top + ", the highest cgroup seen here (a cgroup namespace's"
                        + " root): not given by the cgroups above it (a container's: its runtime's choice)"
                : "in no cgroup.controllers up to the hierarchy's root " + top + ": not in this kernel's cgroup2";
    }

    /**
     * "; cpu memory pids not available: REASON" for the start line, controllers with the same
     * reason together (one reason for all of them, as a rule); empty when none is missing.
     */
    static String startLineText(Map<String, String> missing) {
        Map<String, List<String>> byReason = new LinkedHashMap<>();
        missing.forEach((controller, reason) -> byReason.computeIfAbsent(reason, r -> new ArrayList<>()).add(controller));
        StringBuilder text = new StringBuilder();
        byReason.forEach((reason, controllers) -> text.append("; ").append(String.join(" ", controllers))
                .append(" not available: ").append(reason));
        return text.toString();
    }

    /** A cgroup's processes in words: "the agent's own", "3 processes, the agent's among them", "2 processes". */
    private static String processesText(Set<String> pids, boolean agentThere) {
        if (agentThere && pids.size() == 1) {
            return "the agent's own";
        }
        return pids.size() + (pids.size() == 1 ? " process" : " processes") + (agentThere ? ", the agent's among them" : "");
    }

    /** Who is in {@code dir}'s cgroup.procs, in words; null when nobody (or it cannot be read). */
    private static String processesIn(Path dir, long agentPid) {
        Set<String> pids = CgroupFs.readWords(dir.resolve("cgroup.procs"));
        return pids.isEmpty() ? null : processesText(pids, pids.contains(Long.toString(agentPid)));
    }
}
