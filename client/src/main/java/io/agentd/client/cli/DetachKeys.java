package io.agentd.client.cli;

import java.io.ByteArrayOutputStream;
import java.util.Locale;

/**
 * The key sequence that leaves an attached terminal session running ({@code --detach-keys}, as in
 * {@code docker attach}): found in the keys typed, it is not forwarded, and agentctl detaches the
 * session instead. Keys that begin the sequence are held back until the next key says whether the
 * sequence goes on; if not, they go to the session with it, so no key is lost or reordered. One
 * instance follows one stream of keys (one reader thread).
 */
final class DetachKeys {
    /** docker's default: ^P ^Q. */
    static final String DEFAULT = "ctrl-p,ctrl-q";
    private static final int MAX_KEYS = 16;
    private static final byte[] NONE = new byte[0];

    private final byte[] sequence;
    /** How many bytes of the sequence the keys read so far end with (held back, not forwarded). */
    private int matched;
    private boolean found;
    /**
     * The keys read after the sequence in the same read as its end: not forwarded while agentctl
     * leaves, but the session's again if the agent refuses the detach ({@link #refused}).
     */
    private byte[] afterSequence = NONE;

    private DetachKeys(byte[] sequence) {
        this.sequence = sequence;
    }

    /**
     * {@code ctrl-p,ctrl-q}: keys separated by commas, each {@code ctrl-X} (X one of a-z, @, [, \,
     * ], ^, _) or one printable ASCII character. The empty string turns detaching off (null).
     */
    static DetachKeys parse(String spec) throws UsageException {
        if (spec.isEmpty()) {
            return null;
        }
        String[] keys = spec.split(",", -1);
        if (keys.length > MAX_KEYS) {
            throw new UsageException("--detach-keys: at most " + MAX_KEYS + " keys, not " + keys.length);
        }
        byte[] sequence = new byte[keys.length];
        for (int k = 0; k < keys.length; k++) {
            sequence[k] = key(keys[k]);
        }
        return new DetachKeys(sequence);
    }

    /** {@code spec} itself, once {@link #parse} took it: for an option checked when it is read. */
    static String checked(String spec) throws UsageException {
        parse(spec);
        return spec;
    }

    /** {@link #parse} of a spec {@link #checked} already. */
    static DetachKeys of(String checkedSpec) {
        try {
            return parse(checkedSpec);
        } catch (UsageException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static byte key(String key) throws UsageException {
        String lower = key.toLowerCase(Locale.ROOT);
        if (lower.startsWith("ctrl-") && lower.length() == 6) {
            char c = lower.charAt(5);
            if ((c >= 'a' && c <= 'z') || "@[\\]^_".indexOf(c) >= 0) {
                return (byte) (Character.toUpperCase(c) & 0x1f);
            }
        } else if (key.length() == 1 && key.charAt(0) > ' ' && key.charAt(0) < 0x7f) {
            return (byte) key.charAt(0);
        }
        throw new UsageException("--detach-keys: '" + key + "' is no key (ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\,"
                + " ctrl-], ctrl-^, ctrl-_, or one printable character; keys separated by commas)");
    }

    /**
     * Scans {@code length} keys read from the terminal and returns what to forward now. Once the
     * whole sequence was read, {@link #found} is true and the keys after it are held: agentctl
     * leaves the session, unless the agent refuses ({@link #refused}).
     */
    byte[] scan(byte[] keys, int length) {
        ByteArrayOutputStream forward = new ByteArrayOutputStream(length + sequence.length);
        int i = 0;
        while (i < length && !found) {
            take(keys[i++], forward);
        }
        afterSequence = found ? java.util.Arrays.copyOfRange(keys, i, length) : NONE;
        return forward.toByteArray();
    }

    /**
     * The agent refused the detach: the session stays, so the watch starts afresh and the keys read
     * after the sequence are scanned as typed now. Returns what of them to forward ({@link #found}
     * again if they hold the whole sequence once more).
     */
    byte[] refused() {
        found = false;
        matched = 0;
        byte[] after = afterSequence;
        return scan(after, after.length);
    }

    private void take(byte key, ByteArrayOutputStream forward) {
        if (key == sequence[matched]) {
            matched++;
            found = matched == sequence.length;
            return;
        }
        if (matched == 0) {
            forward.write(key);
            return;
        }
        // The held keys and this one are no detach from their first key: that one goes, and the
        // rest are looked at afresh, since they may begin the sequence themselves (ctrl-a,ctrl-a,x
        // typed as ^A ^A ^A x).
        byte[] held = java.util.Arrays.copyOf(sequence, matched);
        matched = 0;
        forward.write(held[0]);
        for (int h = 1; h < held.length && !found; h++) {
            take(held[h], forward);
        }
        if (!found) {
            take(key, forward);
        }
    }

    /** The keys held back at the end of input: they were no detach, so they go to the session. */
    byte[] heldAtEnd() {
        byte[] held = java.util.Arrays.copyOf(sequence, found ? 0 : matched);
        matched = 0;
        return held;
    }

    boolean found() {
        return found;
    }

    /** The sequence as the user would type it, for messages: ^P^Q. */
    String describe() {
        StringBuilder b = new StringBuilder();
        for (byte k : sequence) {
            b.append(k < ' ' ? "^" + (char) (k + '@') : String.valueOf((char) k));
        }
        return b.toString();
    }
}
