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

    /**
     * The mode a copy out of the guest keeps: the permission bits and the sticky bit, without the
     * set-id bits. Ownership is not copied (a download is the copying user's; a tar's members are
     * owned 0/0, which root's tar(1) keeps), so a guest's 04755 would be a setuid program of
     * whoever copied it, root included, with contents the guest chose; cp(1) clears them too when
     * it cannot keep the owner.
     */
    int modeWithoutSetId() {
        return (int) (mode & 01777);
    }
}
