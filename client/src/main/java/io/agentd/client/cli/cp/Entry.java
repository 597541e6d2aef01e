package io.agentd.client.cli.cp;

/**
 * What cp needs to know of one file system entry, on either side.
 *
 * @param mode  the permission bits and the set-id/sticky bits (07777)
 * @param mtime Unix seconds
 * @param atime Unix seconds
 */
record Entry(Kind kind, long size, long mode, long mtime, long atime) {
    enum Kind { FILE, DIR, LINK, OTHER }

    boolean isDir() {
        return kind == Kind.DIR;
    }
}
