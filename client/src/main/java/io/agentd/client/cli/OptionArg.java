package io.agentd.client.cli;

import java.util.List;

/**
 * One option as written on the command line: "--name value", "--name=value", "-x value", "-xvalue",
 * or a cluster of one-letter flags ("-it"). Values are read lazily, so flags never swallow the next
 * argument.
 */
final class OptionArg {
    private final String name;
    private final String attached;
    private final List<String> argv;
    private final int index;
    private final String cluster;
    private int consumed = 1;

    private OptionArg(String name, String attached, List<String> argv, int index, String cluster) {
        this.name = name;
        this.attached = attached;
        this.argv = argv;
        this.index = index;
        this.cluster = cluster;
    }

    static OptionArg split(String arg, List<String> argv, int index) {
        if (arg.length() < 2) {
            return new OptionArg(arg, null, argv, index, null); // "-", "5": no option, its caller says so
        }
        if (arg.startsWith("--")) {
            int eq = arg.indexOf('=');
            return eq < 0 ? new OptionArg(arg, null, argv, index, null)
                    : new OptionArg(arg.substring(0, eq), arg.substring(eq + 1), argv, index, null);
        }
        String name = arg.substring(0, 2);
        String rest = arg.substring(2);
        if (takesValue(name) && rest.startsWith("=")) {
            // "-u=root" is "-u root", as docker's parser takes it (not the user "=root"); "-u=" is an
            // empty value, never the next argument
            return new OptionArg(name, rest.substring(1), argv, index, null);
        }
        // "-eK=V" carries its value; "-it" is a cluster of flags, resolved by the caller
        return new OptionArg(rest.isEmpty() || takesValue(name) ? name : arg, rest.isEmpty() ? null : rest,
                argv, index, rest.isEmpty() || takesValue(name) ? null : arg.substring(1));
    }

    private static boolean takesValue(String shortName) {
        return shortName.equals("-e") || shortName.equals("-w") || shortName.equals("-u") || shortName.equals("-s");
    }

    String name() {
        return name;
    }

    /** The letters of a flag cluster ("it" for "-it"), or null. */
    String shortCluster() {
        return cluster;
    }

    /** For a flag: true; "--flag=value" is refused. */
    boolean flag() throws UsageException {
        if (attached != null && cluster == null) {
            throw new UsageException(name + " takes no value");
        }
        return true;
    }

    /**
     * For a switch that defaults to on (docker's "--sig-proxy=false"): "--name" alone or
     * "--name=true" is true, "--name=false" false. The value must be attached: a next argument is
     * never taken, so "--name false" leaves "false" to be the command.
     */
    boolean onOff() throws UsageException {
        if (attached == null || attached.equals("true")) {
            return true;
        }
        if (attached.equals("false")) {
            return false;
        }
        throw new UsageException(name + " is true or false, not '" + attached + "'");
    }

    /** The option's value, attached or the next argument. */
    String value() throws UsageException {
        if (attached != null) {
            return attached;
        }
        if (index + 1 >= argv.size()) {
            throw new UsageException(name + ": missing value");
        }
        consumed = 2;
        return argv.get(index + 1);
    }

    /**
     * The value of the cluster's letter at {@code at}, one that takes a value ("-itu root",
     * "-itunobody", as docker takes them): the rest of the cluster after it, or the next argument
     * when it is the cluster's last letter.
     */
    String clusterValue(int at) throws UsageException {
        String rest = cluster.substring(at + 1);
        if (!rest.isEmpty()) {
            return rest.startsWith("=") ? rest.substring(1) : rest;
        }
        if (index + 1 >= argv.size()) {
            throw new UsageException("-" + cluster.charAt(at) + ": missing value");
        }
        consumed = 2;
        return argv.get(index + 1);
    }

    int consumed() {
        return consumed;
    }
}
