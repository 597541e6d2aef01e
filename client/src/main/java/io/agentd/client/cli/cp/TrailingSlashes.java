package io.agentd.client.cli.cp;

/**
 * A path's trailing slashes, which name a directory ("new/"): cp(1) creates a directory there for
 * a directory source, and refuses a file source ("Not a directory"); a source so written names
 * a directory.
 */
final class TrailingSlashes {
    private TrailingSlashes() {}

    /**
     * Whether {@code path} ends with a slash after a name ("d/", not "/"): as the kernel resolves it,
     * it names a directory, a link to one followed, and anything else is ENOTDIR. A source so
     * written is copied as what it names (cp -R link/ copies the directory).
     */
    static boolean nameADirectory(String path) {
        return path.endsWith("/") && !strip(path).equals("/");
    }

    /** {@code path} without its trailing slashes; "/" stays "/". */
    static String strip(String path) {
        String p = path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }
}
