package io.agentd.agent.spawn;

import java.util.Locale;

/**
 * The security profiles a command runs under, from the weakest, in the order of enum agentd_profile
 * in native-shim/agentd-shim.h (the ordinal is the C value). The shim's profile step does the work;
 * docs/SECURITY.md says what each one stops and what it does not.
 */
public enum Profile {
    /** Nothing taken away: the target has what its user has. */
    DEFAULT,
    /** The reference's meaning: no_new_privs, no ambient capabilities, no CAP_SYS_ADMIN in any set. */
    RESTRICTED,
    /** no_new_privs, every capability out of every set, and none to be regained (locked securebits). */
    STRICT;

    /** The name on the command line, the kernel command line and the wire. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The profile of that name, or null for a name that is none. */
    public static Profile byName(String name) {
        for (Profile p : values()) {
            if (p.wireName().equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** True when this profile takes away at least what {@code other} does. */
    public boolean atLeast(Profile other) {
        return compareTo(other) >= 0;
    }

    /** "default, restricted or strict". */
    public static String names() {
        return "default, restricted or strict";
    }
}
