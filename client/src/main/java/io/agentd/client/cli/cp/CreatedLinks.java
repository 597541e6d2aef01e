package io.agentd.client.cli.cp;

import java.util.HashSet;
import java.util.Set;

/**
 * The symbolic links one tar extraction created (names relative to the destination, normalized).
 * A later member whose path, or whose hard link's target, goes through one of them is refused, as
 * GNU tar means to: otherwise "esc -> /outside" then "esc/file" writes outside the destination, and
 * "etc -> /etc" then a hard link to "etc/shadow" copies a file from outside into it.
 */
final class CreatedLinks {
    private final Set<String> links = new HashSet<>();

    void add(String name) {
        links.add(name);
    }

    /** The first link {@code name}'s directories go through, or null (the last component itself not counted). */
    String under(String name) {
        for (int slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) {
            String prefix = name.substring(0, slash);
            if (links.contains(prefix)) {
                return prefix;
            }
        }
        return null;
    }

    /** Like {@link #under}, the name itself counted too (a hard link to a link would copy what it points at). */
    String through(String name) {
        String dir = under(name);
        return dir != null ? dir : links.contains(name) ? name : null;
    }
}
