package io.agentd.client.cli.cp;

import java.util.ArrayList;
import java.util.List;

/**
 * agentctl cp's command line: {@code [-a] [-u USER[:GROUP]] [--] SRC... DST}, a guest path written
 * {@code :PATH} (relative to the guest's /), {@code -} a tar stream on stdin (as SRC) or stdout (as
 * DST).
 *
 * @param archive -a: keep exact modes and times
 * @param user    -u: the guest user the copy runs as; null: the agent's own
 */
public record CpOptions(boolean archive, String user, List<String> sources, String destination) {

    /** A command line cp cannot use; the message says why. */
    public static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid(String message) {
            super(message);
        }
    }

    /** Which way the copy goes. */
    enum Direction { UPLOAD, DOWNLOAD, TAR_IN, TAR_OUT }

    public static CpOptions parse(List<String> args) throws Invalid {
        boolean archive = false;
        String user = null;
        List<String> operands = new ArrayList<>();
        boolean options = true;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (options && a.equals("--")) {
                options = false;
            } else if (options && a.startsWith("-") && a.length() > 1) {
                switch (a) {
                    case "-a", "--archive" -> archive = true;
                    case "-u", "--user" -> {
                        if (i + 1 >= args.size()) {
                            throw new Invalid("cp: " + a + ": missing value");
                        }
                        user = args.get(++i);
                    }
                    default -> {
                        if (a.startsWith("--user=")) {
                            user = a.substring("--user=".length());
                        } else if (a.startsWith("-u")) {
                            user = a.substring(2);
                        } else {
                            throw new Invalid("cp: unknown option " + a);
                        }
                    }
                }
                if (user != null && user.isEmpty()) {
                    throw new Invalid("cp: -u: empty user");
                }
            } else {
                operands.add(a);
            }
        }
        if (operands.size() < 2) {
            throw new Invalid("cp: give a source and a destination (SRC... DST; a guest path as :PATH)");
        }
        CpOptions o = new CpOptions(archive, user, List.copyOf(operands.subList(0, operands.size() - 1)),
                operands.get(operands.size() - 1));
        o.direction(); // checks the operands' sides
        for (String operand : operands) {
            // ":" alone is what ":$DIR" gives with DIR unset: taken from the guest's /, it copied the
            // guest's whole file system (as a source) or into its / (as the destination). An empty
            // host operand is refused too ("cannot stat ''", as cp(1) says).
            if (operand.equals(":")) {
                throw new Invalid("cp: ':' is an empty guest path (an unset variable?); the guest's root is :/");
            }
        }
        return o;
    }

    static boolean isGuest(String operand) {
        return operand.startsWith(":");
    }

    static boolean isStream(String operand) {
        return operand.equals("-");
    }

    /** The guest path of a ":PATH" operand; a relative one is taken from the guest's / (as docker cp does). */
    static String guestPath(String operand) {
        String p = operand.substring(1);
        return p.startsWith("/") ? p : "/" + p;
    }

    Direction direction() throws Invalid {
        boolean dstGuest = isGuest(destination);
        boolean dstStream = isStream(destination);
        long guestSources = sources.stream().filter(CpOptions::isGuest).count();
        long streamSources = sources.stream().filter(CpOptions::isStream).count();
        if (streamSources > 0) {
            if (sources.size() != 1 || !dstGuest) {
                throw new Invalid("cp: - (a tar stream on stdin) is the only source, and goes to a guest directory :DIR");
            }
            return Direction.TAR_IN;
        }
        if (dstStream) {
            if (sources.size() != 1 || guestSources != 1) {
                throw new Invalid("cp: - (a tar stream on stdout) takes exactly one guest source :PATH");
            }
            return Direction.TAR_OUT;
        }
        if (dstGuest && guestSources == 0) {
            return Direction.UPLOAD;
        }
        if (!dstGuest && guestSources == sources.size()) {
            return Direction.DOWNLOAD;
        }
        throw new Invalid(dstGuest ? "cp: copying from the guest to the guest: use exec cp (every source here must be a host path)"
                : guestSources == 0 ? "cp: one side must be the guest: write a guest path as :PATH"
                : "cp: the sources are all on the guest (:PATH) or all on the host");
    }
}
