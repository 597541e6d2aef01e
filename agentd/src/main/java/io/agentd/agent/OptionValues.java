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
        try {
            long uid = Long.parseLong(value);
            if (uid >= 0 && uid < 0xffffffffL) {
                return (int) uid;
            }
        } catch (NumberFormatException e) {
            // fall through to the usage error
        }
        throw new UsageException(name + " takes a numeric uid, not '" + value + "'");
    }

    static int positiveInt(String name, String value) throws UsageException {
        try {
            int v = Integer.parseInt(value);
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the usage error
        }
        throw new UsageException(name + " takes an integer > 0, not '" + value + "'");
    }

    static long millis(String name, String value) throws UsageException {
        try {
            long v = Long.parseLong(value);
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the usage error
        }
        throw new UsageException(name + " takes milliseconds (an integer >= 0), not '" + value + "'");
    }

    static long seconds(String name, String value) throws UsageException {
        try {
            long v = Long.parseLong(value);
            if (v >= 0 && v <= Long.MAX_VALUE / 1000) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the usage error
        }
        throw new UsageException(name + " takes seconds (an integer >= 0), not '" + value + "'");
    }

    static int oomScoreAdj(String name, String value) throws UsageException {
        try {
            int v = Integer.parseInt(value);
            if (v >= OomScoreAdj.MIN && v <= OomScoreAdj.MAX) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through to the usage error
        }
        throw new UsageException(name + " takes " + OomScoreAdj.MIN + " to " + OomScoreAdj.MAX + " or keep, not '"
                + value + "'");
    }

    static long positiveBytes(String name, String value) throws UsageException {
        long n = ByteCount.parse(value).orElse(0);
        if (n <= 0) {
            throw new UsageException(name + " takes a byte count > 0 (e.g. 1048576, 64k, 1m), not '" + value + "'");
        }
        return n;
    }
}
