package io.agentd.client.cli.cp;

/**
 * A path's trailing slashes, which name a directory ("new/"): cp(1) creates a directory there for
 * a directory source, and refuses a file source ("Not a directory").
 */
final class TrailingSlashes {
    private TrailingSlashes() {}

    /** {@code path} without its trailing slashes; "/" stays "/". */
    static String strip(String path) {
        String p = path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }
}
