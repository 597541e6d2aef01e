package io.agentd.client.cli.cp;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The host directories a download is writing in, each held open ({@link HostDir}): the one the
 * destination operand is (or is in) at the bottom, opened by its path, and each directory Copier
 * entered below it opened in the one above, never through a link. Copier enters and leaves them
 * in order, so they are the directories along the current path: as many as it is deep, each
 * closed when its subtree is done.
 */
final class HostDirs {
    private final Deque<HostDir> open = new ArrayDeque<>();

    /** Opens the directory the user named, or the one a destination the user named is in: links followed. */
    DestTree.Held openOperand(Path dir) throws IOException {
        return push(HostDir.operand(dir));
    }

    /**
     * Opens the directory {@code path} in the one it is in (open on top), a link there refused.
     *
     * @throws IllegalStateException the directory {@code path} is in is not the one open on top: a bug
     */
    DestTree.Held openChild(String path) throws IOException {
        Located at = locate(path);
        if (at == null) {
            throw new IllegalStateException("no directory is open to open " + path + " in");
        }
        return push(at.dir().openChild(at.name()));
    }

    /**
     * The open directory {@code path}'s entry is in, and its name; null when none is open: the
     * destination operand's own level (Copier's target, before the copy begins), which is looked
     * up by path as the user named it.
     *
     * @throws IllegalStateException {@code path} is not an entry of the directory open on top: a bug
     */
    Located locate(String path) {
        HostDir top = open.peek();
        if (top == null) {
            return null;
        }
        Path p = Path.of(path).toAbsolutePath();
        if (!top.path().equals(p.getParent()) || p.getFileName() == null) {
            throw new IllegalStateException(path + " is not in the directory open, " + top.path());
        }
        return new Located(top, p.getFileName().toString());
    }

    private DestTree.Held push(HostDir dir) {
        open.push(dir);
        return () -> {
            if (open.peek() != dir) {
                throw new IllegalStateException("directories closed out of order: " + dir.path());
            }
            open.pop().close();
        };
    }

    /** An entry of an open directory: {@code name} in {@code dir}. */
    record Located(HostDir dir, String name) {
        Path entry() {
            return dir.entry(name);
        }
    }
}
