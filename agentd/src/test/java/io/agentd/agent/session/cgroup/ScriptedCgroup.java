package io.agentd.agent.session.cgroup;

import io.agentd.protocol.payload.ResourceUsage;
import java.nio.file.Path;

/**
 * A session cgroup a test scripts: populated until the test says it emptied; kills are counted,
 * and nothing touches /sys/fs/cgroup.
 */
public final class ScriptedCgroup extends SessionCgroup {
    public boolean populated = true;
    public int kills;
    public int removes;

    public ScriptedCgroup() {
        super(Path.of("/scripted/cgroup"), true, false);
    }

    @Override
    public boolean populated() {
        return populated;
    }

    @Override
    public void kill(long waitMillis) {
        kills++;
    }

    @Override
    public ResourceUsage usage() {
        return ResourceUsage.UNKNOWN;
    }

    @Override
    public boolean remove() {
        removes++;
        return !populated;
    }
}
