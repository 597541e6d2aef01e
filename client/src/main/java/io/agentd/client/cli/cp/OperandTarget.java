package io.agentd.client.cli.cp;

import java.io.IOException;

/**
 * Where a source operand goes (cp(1) and docker cp), and whether a target is the destination
 * operand itself: a link there is followed, and one to a non-directory or a special file is the one
 * name a host side writes into.
 */
final class OperandTarget {
    /** The destination operand, when {@link #resolve} made it the target itself: a link there is followed. */
    private String operand;
    /**
     * The destination operand, when {@link #resolve} made it the target and it is a link to a
     * non-directory or a special file (a device, a FIFO): the one name a host side writes into.
     */
    private String specialOperand;

    /** Whether {@code target} is the destination operand itself ({@link #operand}). */
    boolean isOperand(String target) {
        return target.equals(operand);
    }

    /** Whether {@code target} is the destination operand, a link to a non-directory or a special file. */
    boolean isSpecialOperand(String target) {
        return target.equals(specialOperand);
    }

    /**
     * Into {@code dstPath} when that is a directory (under the source's name, or its contents for a
     * source {@linkplain #contentsOnly ending in "." or ".."}), else as {@code dstPath} itself, whose
     * directory must exist. A {@code dstPath} with a trailing slash that does not exist is made for
     * a directory source, as {@code cp -r dir new/} does, and refused for any other.
     *
     * @throws IOException why not: a {@link CopyFailure} worded as cp(1) words it, or the
     *                     destination's own failure
     */
    String resolve(SourceTree src, String srcPath, Entry source, DestTree dst, String dstPath) throws IOException {
        operand = null;
        specialOperand = null;
        Entry there = dst.stat(dstPath);
        if (there != null && there.isDir()) {
            if (contentsOnly(srcPath) && source.isDir()) {
                operand = dstPath;
                return dstPath;
            }
            String name = src.name(srcPath);
            if (!EntryNames.isEntryName(name)) { // never joined: "" or ".." would land on or above dstPath
                throw new CopyFailure("cannot copy " + Quoting.quote(src.show(srcPath)) + " into "
                        + Quoting.quote(dst.show(dstPath)) + ": its last name " + Quoting.quote(name)
                        + " is not a file name");
            }
            return dst.child(dstPath, name);
        }
        String what = source.isDir() ? "cannot create directory" : "cannot create regular file";
        if (there == null) {
            if (dstPath.endsWith("/") && !source.isDir()) {
                throw new CopyFailure(what, dst.show(dstPath), "Not a directory");
            }
            Entry parent = dst.stat(dst.parent(dstPath));
            if (parent == null || !parent.isDir()) {
                throw new CopyFailure(what, dst.show(dstPath),
                        parent == null ? "No such file or directory" : "Not a directory");
            }
            // The directory made is "new", not "new/": the path this copy's checks of what it
            // created compare, and the one its entries' paths are joined to.
            return TrailingSlashes.strip(dstPath);
        }
        if (dstPath.endsWith("/")) {
            // "f/" names a directory: a file there is not replaced (a host Path drops the slash,
            // and its stat found the file; the guest's says ENOTDIR itself)
            throw new CopyFailure(what, dst.show(dstPath), "Not a directory");
        }
        if (source.isDir()) {
            throw new CopyFailure("cannot overwrite non-directory " + Quoting.quote(dst.show(dstPath))
                    + " with directory " + Quoting.quote(src.show(srcPath)));
        }
        Entry self = dst.lstatIfAny(dstPath);
        if (self != null && (self.kind() == Entry.Kind.LINK || self.kind() == Entry.Kind.OTHER)) {
            specialOperand = dstPath; // the name the user gave: written into, as cp(1) does
        }
        return dstPath;
    }

    /**
     * Whether a directory source's contents go into the destination directory rather than the
     * directory under its name: a source whose last name is "." ("DIR/.") or ".." ("DIR/..", which
     * cp(1) also copies as contents: "cp -R src/.. dst" must not write to "dst/.."), trailing
     * slashes aside, or the root "/", which has no name to copy it under (GNU cp tries "dst/"
     * itself and fails; a tar of "/" holds its contents too, as "tar c -C / ." does).
     */
    static boolean contentsOnly(String srcPath) {
        String p = TrailingSlashes.strip(srcPath);
        String last = p.substring(p.lastIndexOf('/') + 1);
        return last.isEmpty() || last.equals(".") || last.equals("..");
    }
}
