package io.agentd.agent;

import org.slf4j.Logger;

/**
 * The warnings of one pass over something a session can fill (the state directory, the cgroup
 * subtree, read at start): the first {@link #FIRST} are logged, each with its name; the rest are
 * counted and told in one line when the pass ends. A session as root can leave thousands of names
 * behind, and the log is, in the guest, a serial console: its queue would drop the lines after them.
 */
public final class FirstLinesLog {
    public static final int FIRST = 10;

    private final Logger log;
    private int warnings;

    public FirstLinesLog(Logger log) {
        this.log = log;
    }

    /** One warning: logged while fewer than {@link #FIRST} were, else only counted. */
    public void warn(String format, Object... args) {
        if (++warnings <= FIRST) {
            log.warn(format, args);
        }
    }

    /** The pass is over: one line for the warnings left out, if any; {@code what} says what they were about. */
    public void end(String what) {
        if (warnings > FIRST) {
            log.warn("{} more {} not logged ({} in all)", warnings - FIRST, what, warnings);
        }
    }
}
