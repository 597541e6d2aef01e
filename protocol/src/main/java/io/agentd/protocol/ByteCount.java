package io.agentd.protocol;

import java.util.Locale;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A byte count as people write one on a command line (agentd's buffer options, agentctl's
 * {@code --memory}): digits and an optional binary unit, {@code 4096}, {@code 64k}, {@code 512m},
 * {@code 2g}, {@code 2GiB}, {@code 1mb}; case does not matter. The one parser both sides use.
 */
public final class ByteCount {
    private static final Pattern FORM = Pattern.compile("(\\d+)([kmg]?)(i?b)?", Pattern.CASE_INSENSITIVE);

    private ByteCount() {}

    /** The count, or empty when {@code text} is no byte count or the count is past a long. */
    public static OptionalLong parse(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            return OptionalLong.empty();
        }
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            default -> 0;
        };
        try {
            long n = Long.parseLong(m.group(1));
            return n <= (Long.MAX_VALUE >> shift) ? OptionalLong.of(n << shift) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty(); // more digits than a long holds
        }
    }
}
