package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.Os;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enables the wanted controllers ({@link CgroupRoot#CONTROLLERS}) for the children of the subtree
 * and of the sessions' cgroup, through their cgroup.subtree_control, and records each one that
 * cannot be with its reason ({@link MissingControllers}) for the start line and for the refusal of
 * a limit that needs it.
 */
final class ControllerEnabler {
    /** CgroupRoot's: the start's lines about the subtree are all under one name, as they were. */
    private static final Logger log = LoggerFactory.getLogger(CgroupRoot.class);

    private ControllerEnabler() {}

    /**
     * The wanted controllers the subtree can give its children, enabled where they are not yet; each
     * other one goes into {@code missing} with the reason, for the start line and for the refusal of
     * a limit that needs it.
     */
    static Set<String> inSubtree(Path dir, Map<String, String> missing, Path procCgroups,
            long agentPid) {
        Set<String> available = CgroupFs.readWords(dir.resolve("cgroup.controllers"));
        Set<String> enabled = CgroupFs.readWords(dir.resolve("cgroup.subtree_control"));
        Set<String> result = new LinkedHashSet<>();
        String kernelTable = null;
        for (String c : CgroupRoot.CONTROLLERS) {
            if (!enabled.contains(c) && available.contains(c)) {
                int err = CgroupFs.write(dir.resolve("cgroup.subtree_control"), "+" + c);
                if (err != 0) {
                    log.warn("cannot enable the {} controller in {}: {}", c, dir, Os.errnoName(err));
                    missing.put(c, MissingControllers.enablingFailed(dir, err, agentPid));
                    continue;
                }
                enabled.add(c);
            }
            if (enabled.contains(c)) {
                result.add(c);
            } else {
                if (kernelTable == null) {
                    kernelTable = CgroupFs.read(procCgroups);
                    kernelTable = kernelTable == null ? "" : kernelTable;
                }
                missing.put(c, MissingControllers.whyNotOffered(dir, c, kernelTable, agentPid));
            }
        }
        return result;
    }

    /**
     * Enables for the children of {@code sessions} the controllers {@code enabled} holds (those the
     * subtree gives it); {@code enabled} keeps those it could enable there, {@code missing} gets the others.
     */
    static void inSessions(Path sessions, Set<String> enabled, Map<String, String> missing) {
        Set<String> there = CgroupFs.readWords(sessions.resolve("cgroup.subtree_control"));
        for (var it = enabled.iterator(); it.hasNext(); ) {
            String c = it.next();
            if (there.contains(c)) {
                continue;
            }
            int err = CgroupFs.write(sessions.resolve("cgroup.subtree_control"), "+" + c);
            if (err != 0) {
                log.warn("cannot enable the {} controller in {}: {}", c, sessions, Os.errnoName(err));
                missing.put(c, MissingControllers.enablingFailed(sessions, err, -1));
                it.remove();
            }
        }
    }
}
