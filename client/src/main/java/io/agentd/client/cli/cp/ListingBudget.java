package io.agentd.client.cli.cp;

import java.util.Collection;

/**
 * The names the directory listings open along one path hold at once: a copy keeps each directory's
 * listing while it copies that directory's subdirectories. A guest's listing is capped one by one
 * (GuestFiles: 1 Mi entries), but a guest whose every level is that wide, 2048 levels deep, would
 * otherwise make agentctl hold billions of names, level by level, until it ran out of memory.
 */
final class ListingBudget {
    /** Names held at once; a deep tree of directories of thousands of entries each stays far below it. */
    static final long MAX_NAMES = 1 << 21;
    /** Characters of those names held at once (two bytes each on the heap, at most). */
    static final long MAX_CHARS = 64L << 20;

    private final long maxNames;
    private final long maxChars;
    private long names;
    private long chars;

    ListingBudget() {
        this(MAX_NAMES, MAX_CHARS);
    }

    /** With other limits (tests). */
    ListingBudget(long maxNames, long maxChars) {
        this.maxNames = maxNames;
        this.maxChars = maxChars;
    }

    /** Takes room for {@code listing}, or false (nothing taken) when it would pass either limit. */
    boolean hold(Collection<String> listing) {
        long c = charsOf(listing);
        if (names + listing.size() > maxNames || chars + c > maxChars) {
            return false;
        }
        names += listing.size();
        chars += c;
        return true;
    }

    /** Gives back what {@link #hold} took for {@code listing}. */
    void release(Collection<String> listing) {
        names -= listing.size();
        chars -= charsOf(listing);
    }

    /** Why a listing was refused, for the failed item. */
    String refusal() {
        return "the directory listings open along its path would hold more than " + maxNames + " names or "
                + maxChars + " characters at once";
    }

    private static long charsOf(Collection<String> listing) {
        long c = 0;
        for (String name : listing) {
            c += name.length();
        }
        return c;
    }
}
