package io.agentd.client.cli.cp;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.util.Set;
import java.util.TreeSet;

/**
 * Bytes of the regular files under a source, for the progress line's total: walked before the copy
 * (and no deeper than it goes), what cannot be read left for the copy to report.
 */
final class TreeSize {
    private TreeSize() {}

    /**
     * Bytes of the regular files under {@code path} (for the progress line); what cannot be read
     * counts 0, but a failure that {@linkplain CopyFailure#endsTheCopy ends the copy} is thrown: the
     * walk would otherwise meet it again in each directory left (a silent agent's timeout each time).
     */
    static long of(SourceTree src, String path, Entry e) throws IOException {
        return of(src, path, e, 0, new ListingBudget());
    }

    private static long of(SourceTree src, String path, Entry e, int depth, ListingBudget listings)
            throws IOException {
        if (e.kind() == Entry.Kind.FILE) {
            return e.size();
        }
        if (e.kind() != Entry.Kind.DIR || depth >= Copier.MAX_DEPTH) {
            return 0;
        }
        long total = 0;
        Set<String> listing = null;
        try {
            listing = new TreeSet<>(src.names(path));
            if (!listings.hold(listing)) {
                listing = null;
                return 0; // reported when the copy gets there
            }
            for (String name : listing) {
                if (EntryNames.isEntryName(name)) { // the others are reported by the copy
                    String child = src.child(path, name);
                    total += of(src, child, src.lstat(child), depth + 1, listings);
                }
            }
        } catch (IOException ex) {
            if (CopyFailure.endsTheCopy(ex)) {
                throw ex;
            }
            // reported when the copy gets there
        } catch (InvalidPathException ex) {
            // reported when the copy gets there
        } finally {
            if (listing != null) {
                listings.release(listing);
            }
        }
        return total;
    }
}
