package io.agentd.agent;

import io.agentd.agent.AgentOptions.UsageException;
import io.agentd.agent.spawn.OomScoreAdj;
import io.agentd.protocol.ByteCount;

/**
 * One option's value read as the kind it is (milliseconds, seconds, a byte count, an octal mode, a
 * uid...), or the {@link UsageException} that names the option and says what it takes. Static.
 */
final class OptionValues {
    private OptionValues() {
    }

    static String nonEmpty(String name, String value) throws UsageException {
        if (value.isEmpty()) {
            throw new UsageException(name + " needs a non-empty value");
        }
        return value;
    }

    /** An octal mode such as 0600 or 660, without bits above 0777 (no setuid, setgid or sticky). */
    static int mode(String name, String value) throws UsageException {
        if (value.matches("[0-7]{1,4}")) {
            int mode = Integer.parseInt(value, 8);
            if (mode <= 0777) {
                return mode;
            }
        }
        throw new UsageException(name + " takes an octal mode up to 0777 (e.g. 0660), not '" + value + "'");
    }

    static int uid(String name, String value) throws UsageException {
        return (int) inRange(name, value, 0, 0xfffffffeL, "a numeric uid"); // (uid_t) -1 is no uid
    }

    static int positiveInt(String name, String value) throws UsageException {
        return (int) inRange(name, value, 1, Integer.MAX_VALUE, "an integer > 0");
    }

    static long millis(String name, String value) throws UsageException {
        return inRange(name, value, 0, Long.MAX_VALUE, "milliseconds (an integer >= 0)");
    }

    static long seconds(String name, String value) throws UsageException {
        return inRange(name, value, 0, Long.MAX_VALUE / 1000, "seconds (an integer >= 0)");
    }

    static int oomScoreAdj(String name, String value) throws UsageException {
        return (int) inRange(name, value, OomScoreAdj.MIN, OomScoreAdj.MAX,
                OomScoreAdj.MIN + " to " + OomScoreAdj.MAX + " or keep");
    }

    /** {@code value} as a decimal integer in [min, max], else the usage error "NAME takes WHAT, not 'VALUE'". */
    private static long inRange(String name, String value, long min, long max, String what) throws UsageException {
        try {
            long v = Long.parseLong(value);
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the usage error
        }
        throw new UsageException(name + " takes " + what + ", not '" + value + "'");
    }

    static long positiveBytes(String name, String value) throws UsageException {
        long n = ByteCount.parse(value).orElse(0);
        if (n <= 0) {
            throw new UsageException(name + " takes a byte count > 0 (e.g. 1048576, 64k, 1m), not '" + value + "'");
        }
        return n;
    }
}
