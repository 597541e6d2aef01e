package io.agentd.agent.transport;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.nio.ByteBuffer;

/**
 * Who is at the other end of a unix socket connection, as the kernel recorded it at connect time
 * (SO_PEERCRED, SO_PEERGROUPS): not what the peer says about itself.
 *
 * @param pid    the peer's pid at connect time
 * @param uid    its effective uid
 * @param gid    its effective gid
 * @param groups its supplementary groups (empty where the kernel cannot tell, before Linux 4.13)
 */
record PeerCredentials(int pid, int uid, int gid, int[] groups) {
    private static final int MAX_GROUPS = 1024;

    static PeerCredentials of(int fd) throws OsException {
        ByteBuffer scratch = Os.scratch(16);
        ByteBuffer ucred = Os.slice(scratch, 0, 12);
        ByteBuffer len = Os.slice(scratch, 12, 4);
        len.putInt(0, 12);
        Os.check("getsockopt(SO_PEERCRED)", Os.libc().getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_PEERCRED, ucred, len));
        int pid = ucred.getInt(0);
        int uid = ucred.getInt(4);
        int gid = ucred.getInt(8);
        return new PeerCredentials(pid, uid, gid, groups(fd)); // groups takes the scratch memory again
    }

    private static int[] groups(int fd) {
        ByteBuffer scratch = Os.scratch(4 + 4 * MAX_GROUPS);
        ByteBuffer len = Os.slice(scratch, 0, 4);
        ByteBuffer buf = Os.slice(scratch, 4, 4 * MAX_GROUPS);
        len.putInt(0, 4 * MAX_GROUPS);
        if (Os.libc().getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_PEERGROUPS, buf, len) != 0) {
            return new int[0];
        }
        int[] groups = new int[len.getInt(0) / 4];
        buf.asIntBuffer().get(0, groups);
        return groups;
    }

    boolean inGroup(int group) {
        if (gid == group) {
            return true;
        }
        for (int g : groups) {
            if (g == group) {
                return true;
            }
        }
        return false;
    }
}
