package io.agentd.testkit.vm;

import io.agentd.client.ExecResult;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.testkit.GuestVm;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** Commands the VM checks run in the guest through the kit's client, and what they read there. */
final class InGuest {
    /** All five capability sets empty and NoNewPrivs set: the strict profile. */
    static final String NO_CAPS = "CapInh=0000000000000000 CapPrm=0000000000000000 CapEff=0000000000000000"
            + " CapBnd=0000000000000000 CapAmb=0000000000000000 NoNewPrivs=1";
    /** Tries to write into the agent's directories; prints "wrote DIR" for each it could, then "done". */
    /**
     * Writes where what the next agent start runs lives (the agent's files, the shell, the C library
     * and loader, the user database and ld.so's files, init), and moves those directories aside;
     * "done" alone when every step is refused (a review replaced /bin/sh from a strict session).
     * Appends in a subshell: a failed redirection of a special built-in ends the shell. (busybox's
     * test -w is true for root whatever the mount, and an executable running answers ETXTBSY first.)
     */
    static final String WRITE_AGENT_FILES = ". /etc/agentd.env; for d in \"$AGENTD_HOME\" \"$AGENTD_HOME/lib\" \"$JAVA_HOME/bin\""
            + " /bin /sbin /lib /lib/x86_64-linux-gnu /lib64 /usr/bin /etc /opt; do"
            + " touch \"$d/planted\" 2> /dev/null && echo \"wrote $d\" && rm -f \"$d/planted\"; done;"
            + " for f in /etc/passwd /init; do (: >> \"$f\") 2> /dev/null && echo \"wrote $f\"; done;"
            + " for d in /etc /opt /init /root /home; do mv \"$d\" \"$d.aside\" 2> /dev/null && echo \"moved $d\""
            + " && mv \"$d.aside\" \"$d\"; done;"
            + " [ \"$(stat -c %a /)\" = 755 ] || echo \"/ is $(stat -c %a /)\"; echo done";
    static final String REMOUNT_AGENT_FILES = ". /etc/agentd.env; mount -o remount,bind,rw \"$AGENTD_HOME\" 2> /dev/null"
            + " && echo remounted || echo denied";
    static final String MOUNT_TMPFS = "mount -t tmpfs none /mnt 2> /dev/null && echo mounted || echo denied";
    /**
     * Writes kernel.core_pattern's own value back (nothing changes where it is allowed) and a cgroup
     * file: "denied" when both are refused. A root session without capabilities could write both
     * (sysctl and cgroupfs check uid 0's mode bits), and core_pattern's "|PROG" runs PROG as root
     * with every capability.
     */
    static final String WRITE_KERNEL_TUNABLES = "v=$(cat /proc/sys/kernel/core_pattern);"
            + " { printf '%s\\n' \"$v\" > /proc/sys/kernel/core_pattern; } 2> /dev/null && echo sysctl-written;"
            + " { echo max > /sys/fs/cgroup/agentd/agent/pids.max; } 2> /dev/null && echo cgroup-written;"
            + " mkdir /dev/agentd-probe 2> /dev/null && rmdir /dev/agentd-probe && echo dev-entry-made; echo denied";

    private InGuest() {
    }

    /** {@code sh -c script} as root; its stdout, which must come with exit 0. */
    static String sh(GuestVm vm, String script) throws Exception {
        return sh(vm, Duration.ofSeconds(45), script);
    }

    /** {@code sh -c script} as root, given up to {@code timeout}; its stdout, which must come with exit 0. */
    static String sh(GuestVm vm, Duration timeout, String script) throws Exception {
        ExecResult r = vm.exec(timeout, "sh", "-c", script);
        if (r.exitCode() != 0) {
            throw new AssertionError("sh -c '" + script + "' exited " + r.exitCode() + ": " + r.stderrText());
        }
        return r.stdoutText();
    }

    /** The agent's vsock port (init's default; agentd.vsock=PORT|none on the kernel command line). */
    static final int VSOCK_PORT = 1024;

    /**
     * {@code connections} socat clients at once to the agent's vsock port over CID 1; for each, what it
     * was sent: "core.ready" when it was greeted as a host, "core.error" and "own machine" when it was
     * told it is refused (the frames' text holds the type names and the message).
     */
    static String vsockGreetings(GuestVm vm, int connections) throws Exception {
        return sh(vm, "for i in $(seq " + connections + "); do socat -T 3 -u VSOCK-CONNECT:1:" + VSOCK_PORT
                + " STDOUT > /tmp/vsock.$i & done; wait; for i in $(seq " + connections + "); do"
                + " tr -c 'a-z.' ' ' < /tmp/vsock.$i | grep -o 'core.ready\\|core.error\\|own machine'; done");
    }

    /** "refused" when nothing listens on the agent's vsock port, "listening" otherwise. */
    static String vsockListener(GuestVm vm) throws Exception {
        return sh(vm, "socat -T 2 -u VSOCK-CONNECT:1:" + VSOCK_PORT + " STDOUT > /dev/null 2>&1 && echo listening || echo refused");
    }

    /**
     * The guest's own agentctl (the image's /usr/bin/agentctl) run by a root session, {@code exec -- echo
     * hi} with {@code options} before the command (none: its default address, /run/agentd/agentd.sock, where
     * the agent listens when booted with agentd.listen=unix:/run/agentd/agentd.sock); prints its exit status and its first line of stderr, then its stdout. It starts a JVM
     * inside the guest: seconds under TCG, hence the 90 s.
     */
    static String guestAgentctlEchoHi(GuestVm vm, String options) throws Exception {
        return sh(vm, Duration.ofSeconds(90), "agentctl " + options + " --ready-timeout 60s"
                + " exec -- echo hi > /tmp/guest-agentctl.out 2> /tmp/guest-agentctl.err;"
                + " echo \"$? $(head -1 /tmp/guest-agentctl.err)\"; cat /tmp/guest-agentctl.out");
    }

    /**
     * The guest's agentctl pinging its agent through its default address (/run/agentd/agentd.sock, with
     * agentd.listen as above) {@code count} times 10 ms apart (the pinger of scripts/guest/many-sessions): exit status and
     * stderr's first line, then stdout.
     */
    static String guestAgentctlPing(GuestVm vm, int count) throws Exception {
        return sh(vm, Duration.ofSeconds(90), "agentctl --ready-timeout 60s"
                + " ping --count " + count + " --interval 10ms > /tmp/guest-ping.out 2> /tmp/guest-ping.err;"
                + " echo \"$? $(head -1 /tmp/guest-ping.err)\"; cat /tmp/guest-ping.out");
    }

    /** The fields of /proc/self/status of a session started with {@code request}'s options. */
    static Map<String, String> procStatus(GuestVm vm, ExecRequest request) throws Exception {
        ExecResult r = vm.client().run(request, Duration.ofSeconds(45));
        if (r.exitCode() != 0) {
            throw new AssertionError(request + " exited " + r.exitCode() + ": " + r.stderrText());
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : r.stdoutText().split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
        return fields;
    }

    /** A session's five capability sets and NoNewPrivs, as {@link #NO_CAPS} spells them. */
    static String allCaps(GuestVm vm, ExecRequest request) throws Exception {
        Map<String, String> status = procStatus(vm, request);
        StringBuilder s = new StringBuilder();
        for (String f : new String[] {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"}) {
            s.append(s.length() == 0 ? "" : " ").append(f).append('=').append(status.get(f));
        }
        return s.toString();
    }

    /** NoNewPrivs, and whether CAP_SYS_ADMIN (bit 21) is in CapEff and CapBnd, of a plain root session. */
    static String sessionPrivileges(GuestVm vm) throws Exception {
        Map<String, String> status = procStatus(vm, ExecRequest.of("cat", "/proc/self/status"));
        return "NoNewPrivs=" + status.get("NoNewPrivs") + " sys_admin_eff=" + bit21(status.get("CapEff"))
                + " sys_admin_bnd=" + bit21(status.get("CapBnd"));
    }

    private static long bit21(String hex) {
        return Long.parseUnsignedLong(hex, 16) >> 21 & 1;
    }
}
