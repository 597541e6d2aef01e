package io.agentd.client.cli.cp;

/**
 * What one entry of a directory may be named, on either side: a listing, a tar member or a link
 * may hold any text, and a name that is not one entry's would, joined to a directory, name a path
 * on or outside it.
 */
final class EntryNames {
    private EntryNames() {}

    /** A name a directory can hold: not "", "." or "..", no '/' and no NUL. */
    static boolean isEntryName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
                && name.indexOf('\0') < 0;
    }

    /**
     * {@code name}, checked for a tree's {@code child(dir, name)}: a name that is not one entry of
     * {@code dir} (see {@link #isEntryName}) is never joined to it, as "..", "" or "a/../.." would
     * name a path on or outside it. Every caller checks its names first, so this is a bug caught,
     * not a user's mistake.
     *
     * @throws IllegalArgumentException {@code name} is not one entry's name
     */
    static String entryName(String name) {
        if (!isEntryName(name)) {
            throw new IllegalArgumentException("not a file name: " + Quoting.quote(name));
        }
        return name;
    }
}
