package io.agentd.client.cli;

/**
 * Each command's help, the one place its text is kept: {@code agentctl COMMAND --help} prints all of
 * it, and {@link Overview} lists each command by its synopsis and summary from here, so the overview
 * and a command's own help cannot drift apart.
 */
enum CommandHelp {
    EXEC("exec", "exec [OPTIONS] [--] CMD [ARGS...]", "run CMD in the agent; output as it comes", """
            Runs CMD in the agent: its output as it comes, its exit status as agentctl's. Options end at --
            or at CMD, the first argument that is not one (what follows CMD is its own: exec ls --help).

            options:
              -i, --interactive          forward this process's stdin (EOF ends the input);
                                         any amount, at the pace the command reads it
              -t, --tty                  run in a PTY the size of this terminal; resizes
                                         follow SIGWINCH. With -i the terminal goes raw until
                                         the command ends (every key, ^C too, goes to it, but
                                         the detach keys); without -i it stays as it is (^C
                                         stops agentctl and, through it, the command)
              --detach-keys KEYS         with -it: the keys that leave the command running
                                         and end agentctl (0), which prints how to attach
                                         again (default ctrl-p,ctrl-q; "" for none; keys:
                                         ctrl-a..ctrl-z, ctrl-@ [ \\ ] ^ _, or a character)
              --sig-proxy=false          SIGINT, SIGTERM and SIGHUP to agentctl (^C at a
                                         terminal that is not raw) leave the command
                                         running as the detach keys do, instead of being
                                         passed on to it (default true)
              -e, --env K=V|NAME         set an environment variable (repeatable); NAME alone
                                         passes agentctl's own NAME, or nothing (NAME unset,
                                         not empty) where agentctl has none, as docker's -e
              -w, --workdir DIR          working directory
              -u, --user USER[:GROUP]    user (name or uid) and group to run as
              --rlimit NAME=SOFT[:HARD]  resource limit (repeatable); NAME is one of cpu fsize
                                         data stack core rss nproc nofile memlock as locks
                                         sigpending msgqueue nice rtprio rttime; a value is a
                                         number or "unlimited"; HARD defaults to SOFT
              --timeout DURATION         the agent stops CMD after this long (SIGTERM to its
                                         process group, then SIGKILL)
              --profile NAME             security profile: default, restricted or strict
                                         (docs/SECURITY.md); only one at least as strict as
                                         the agent's is accepted
              --memory BYTES             memory limit of CMD's cgroup (memory.max; 512m, 2g:
                                         binary units); refused by an agent without the
                                         memory controller
              --pids N                   task limit of CMD's cgroup (pids.max); refused by an
                                         agent without the pids controller
              --stats                    after CMD, print on stderr the CPU time, peak memory
                                         and OOM kill the agent counted
              -d, --detach               start CMD as a detachable session, print its session
                                         number and exit 0: CMD runs on after agentctl ends, its
                                         output kept by the agent for attach (not with -i
                                         or --stats)

            examples:
              agentctl exec -- uname -a
              agentctl exec -it -- bash                 a shell; ctrl-p,ctrl-q leaves it running
              tar c src | agentctl exec -i -w /work -- tar x
              agentctl exec -e TOKEN -e LANG=C.UTF-8 -- ./deploy    TOKEN: this shell's
              agentctl exec -d --timeout 1h -- make test    then: agentctl attach SESSION

            exit status: CMD's own (128+N when signal N killed it), 126 when CMD could not run or
            the agent refused the request or does not offer it (--profile, --detach to an agent
            without that feature), 127 when CMD was not found, 0 when the detach keys (or a signal
            under --sig-proxy=false) left CMD running; with --detach 0 once CMD runs. 123 when CMD
            exited 0 but did not get all of its stdin (-i: the agent reported a stdin error, or
            CMD ended before agentctl sent all of its input: "agentctl: stdin not delivered in
            full: ERRNO: why" on stderr; or agentctl could not read its own stdin,
            "agentctl: cannot read stdin: why"; when CMD failed, its own status stands and
            the message is still printed). 124 when --timeout stopped CMD (as with timeout(1);
            a line on stderr says so). A closed stdout (| head) is no error: CMD gets SIGPIPE and
            its status stands; one that cannot be written (a full disk) stops CMD with SIGPIPE
            the same way and agentctl exits 1, unless CMD failed otherwise (not 0, not 141).
            """),
    PS("ps", "ps", "list the agent's sessions (of every connection)", """
            Lists the agent's sessions, of every connection: SESSION PID STATE EXIT TTY USER STARTED
            OUT KEPT ATTACHED CMD. KEPT is the range of output offsets the agent still keeps (for
            attach --from).

            example:
              agentctl ps

            exit status: 126 when the agent does not keep sessions (its ready does not offer them).
            """),
    ATTACH("attach", "attach [OPTIONS] SESSION", "become the host of a detached or kept session", """
            Becomes the host of SESSION (from exec --detach, or kept after its host left): its kept
            output from OFFSET (default: the oldest byte kept), then live output and its exit
            status, as exec. One host at a time: refused (126) while another is attached. A line on
            stderr says how many bytes asked for were no longer kept. Signals and a closed stdout
            reach SESSION as for exec; to leave it running: the detach keys (-it), or a signal under
            --sig-proxy=false.

            options:
              --from OFFSET              the first byte of output to print (ps shows what is KEPT)
              -i, --interactive          forward this process's stdin, as exec -i
              -t, --tty                  this terminal to SESSION's PTY, as exec -t
              --detach-keys KEYS         as for exec (default ctrl-p,ctrl-q)
              --sig-proxy=false          as for exec: signals leave SESSION running

            examples:
              agentctl attach 3
              agentctl attach -it 3                     back into a shell started with exec -itd
              agentctl attach --from 0 3 > all.log      all of its output still kept

            exit status: as exec's: SESSION's own, 126 when the agent refused (an unknown session,
            one attached to another host) or does not offer attach, 0 when the detach keys left it
            running.
            """),
    CP("cp", "cp [-a] [-u USER[:GROUP]] SRC... DST", "copy files and directories between host and guest", """
            Copies files and directories (recursively, links as links) between the host and the
            guest; a guest path is written :PATH (e.g. :/etc/hosts). - as SRC reads a tar stream
            from stdin into the guest directory DST (members that would land outside it, also
            through a link the tar made, are refused); - as DST writes a tar of the guest's SRC to
            stdout. Several SRC: DST is a directory.

            options:
              -a, --archive              keep modes exactly and modification times (without
                                         it: modes less the umask, times of the copy)
              -u, --user USER[:GROUP]    the guest side is read and written as this user

            examples:
              agentctl cp build.tar.gz :/tmp/           host to guest, into a directory
              agentctl cp -a ./src :/work/src           a tree, modes and times kept
              agentctl cp :/var/log/app.log ./          guest to host
              agentctl cp :/etc - | tar tv              a tar of the guest's /etc on stdout
              tar c -C out . | agentctl cp - :/srv/www  a tar from stdin, into a guest directory

            exit status: 1 when any item could not be copied (each reported on stderr; the rest is
            copied), stdout could not be written, or its tar stopped cut short (files that came
            more than 1 MiB in all short of their sizes); 141, and no message, when the reader of its tar
            left (| head); 125 also when the agent was silent for 60 s, which stops the copy.
            """),
    PING("ping", "ping [--count N] [--interval DURATION]", "print the round-trip time to the agent", """
            Prints the round-trip time to the agent, N times (default 1), each ping DURATION after
            the last pong (default 1s); when N > 1 then the min/avg/max, also after a failed ping
            or ^C.

            examples:
              agentctl ping
              agentctl ping --count 10 --interval 200ms
            """),
    CLOCK_SYNC("clock-sync", "clock-sync [--timeout DURATION]", "set the guest's clock to this host's", """
            Sends the agent this host's time (core.clock.sync) and waits until it has taken it (a
            ping sent after it is answered), then prints one line with the round trip. The agent
            steps the guest's clock to that time when it is off by more than 100 ms, and leaves it
            alone otherwise; an agent that may not set the clock (one not run as root) only logs
            that it could not. For a guest clock that fell behind while its VM was paused or
            restored from a snapshot, or its host suspended: agentctl relay --qmp does it itself
            when QEMU resumes the VM and after each of the agent's ready messages, but sees no host
            suspend (a resume hook of the host's can run this).

            options:
              --timeout DURATION         how long to wait for the agent to take it (default 10s)

            example:
              agentctl --socket run/agent.sock clock-sync

            exit status: 126 when a relay in front refused it (one that passes on only
            core.shutdown on id 0: the message says so).
            """),
    SHUTDOWN("shutdown", "shutdown", "ask the agent to shut down", """
            Asks the agent to shut down, and waits up to 5 s for it to close the connection.

            example:
              agentctl shutdown
            """),
    WAIT_READY("wait-ready", "wait-ready [--timeout DURATION]", "wait until the agent is ready", """
            Waits until the socket exists and the agent is ready (default 60s), then prints one line
            with its version and start-up times, for scripts that boot a VM:
              ready: agentd VERSION at ADDRESS; since kernel boot: agent started S s, main S s, ready S s
            (an agent found by a ping, whose ready message was missed, is reported without times).

            example:
              agentctl --socket run/agent.sock wait-ready --timeout 3m
            """),
    RELAY("relay", "relay --port PORT_SOCKET --listen SOCKET [OPTIONS]", "share one VM's agent among up to 128 clients", """
            Shares one agent among up to 128 clients: connects to the VM's virtio-serial chardev
            socket PORT_SOCKET and serves clients on SOCKET. Runs until the VM goes away (exit 1)
            or it is stopped (SIGTERM, exit 0).

            options:
              --port PORT_SOCKET         QEMU's chardev socket of the agent's port (QEMU takes
                                         one client there: the relay)
              --listen SOCKET            where clients connect (mode 0600)
              --port-wait DURATION       how long to wait for PORT_SOCKET to appear (default 30s)
              --ready-warning DURATION   say so on stderr when the agent is not ready by then
                                         (default 60s)
              --qmp QMP_SOCKET           QEMU's QMP socket: the relay then also survives an agent
                                         that dies in the middle of a frame (docs/DESIGN.md, Relay)

            example:
              agentctl relay --port run/port.sock --listen run/agent.sock --qmp run/qmp.sock &
              agentctl --socket run/agent.sock wait-ready
            """);

    private final String command;
    private final String synopsis;
    private final String summary;
    private final String details;

    CommandHelp(String command, String synopsis, String summary, String details) {
        this.command = command;
        this.synopsis = synopsis;
        this.summary = summary;
        this.details = details;
    }

    /** The help of {@code command}, or null when agentctl has no such command. */
    static CommandHelp of(String command) {
        for (CommandHelp help : values()) {
            if (help.command.equals(command)) {
                return help;
            }
        }
        return null;
    }

    String command() {
        return command;
    }

    /** The command and its arguments, as the overview lists them. */
    String synopsis() {
        return synopsis;
    }

    /** What the command does, in the few words the overview has room for. */
    String summary() {
        return summary;
    }

    /** {@code agentctl COMMAND --help}: the usage line, what it does, its options, examples, its exit statuses. */
    String text() {
        return "usage: agentctl [-s ADDRESS] " + synopsis + "\n\n" + details
                + "\nagentctl's own options (-s, --socket ADDRESS; --ready-timeout DURATION) go before the\n"
                + "command; they, DURATION and the statuses every command shares (125: no agent to talk\n"
                + "to; 2: a bad command line) are in agentctl --help.\n";
    }
}
