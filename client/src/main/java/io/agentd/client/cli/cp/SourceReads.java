package io.agentd.client.cli.cp;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads of a source tree whose failure is one item's: reported (as cp(1) words it) and the item
 * left out, the copy going on with the rest. Only a failure that
 * {@linkplain CopyFailure#endsTheCopy ends the copy} is thrown.
 */
final class SourceReads {
    private final FailedItems failed;

    SourceReads(FailedItems failed) {
        this.failed = failed;
    }

    /** The entry at {@code path}, or null after reporting why it cannot be read. */
    Entry lstat(SourceTree src, String path) throws IOException {
        try {
            return src.lstat(path);
        } catch (IOException e) {
            failed.report(CopyFailure.of("cannot stat", src.show(path), e));
            return null;
        } catch (InvalidPathException e) {
            failed.report(CopyFailure.unencodable("cannot stat", src.show(path)));
            return null;
        }
    }

    /**
     * The names of a listing, sorted, each once. Two entries listed under one name that holds
     * U+FFFD are two names that are not valid UTF-8 (or one such and the valid name it comes out
     * as), each byte that is not replaced by U+FFFD: one of them would be copied and the other left
     * out unsaid, so the name is reported, and the copy fails, once for each entry beyond the first.
     * (Another name listed twice is a listing's mistake, copied once.)
     */
    Set<String> uniqueNames(SourceTree src, String dir, List<String> names) throws IOException {
        Set<String> unique = new TreeSet<>();
        for (String name : names) {
            if (!unique.add(name) && name.indexOf('\uFFFD') >= 0) {
                failed.report(new CopyFailure("cannot copy an entry of " + Quoting.quote(src.show(dir))
                        + ": two entries are listed as " + Quoting.quote(name) + ", so one of their names is not"
                        + " valid UTF-8 (agentctl cp copies only UTF-8 names)"));
            }
        }
        return unique;
    }

    /**
     * The entry a directory listing named, or null after reporting why it cannot be read. A name
     * whose bytes are not UTF-8 comes out of the listing (Java's on the host, the agent's JSON on
     * the guest) with U+FFFD in their place, and that name then finds nothing: said so rather than
     * "No such file or directory".
     */
    Entry listed(SourceTree src, String child, String name) throws IOException {
        try {
            return src.lstat(child);
        } catch (InvalidPathException e) {
            failed.report(CopyFailure.unencodable("cannot stat", src.show(child)));
            return null;
        } catch (IOException e) {
            if (name.indexOf('\uFFFD') >= 0 && CopyFailure.isNotFound(e)) {
                failed.report(new CopyFailure("cannot copy " + Quoting.quote(src.show(child))
                        + ": its name is not valid UTF-8 (agentctl cp copies only UTF-8 names)"));
            } else {
                failed.report(CopyFailure.of("cannot stat", src.show(child), e));
            }
            return null;
        }
    }
}
