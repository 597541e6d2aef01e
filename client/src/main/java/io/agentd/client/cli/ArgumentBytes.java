package io.agentd.client.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * agentctl's arguments as the kernel holds them (/proc/self/cmdline) against the Strings the JVM
 * made of them. The protocol carries names, arguments and environment entries as UTF-8 text, and
 * the JVM turns bytes it cannot decode into U+FFFD (or '?' under an ASCII locale): `exec -- printf
 * %s $'\xff'` ran printf with three other bytes and `cp` would create a file of another name, with
 * nothing said. An argument whose bytes are not its String's UTF-8 is refused before anything runs;
 * so is the value {@code exec -e NAME} takes from agentctl's environment, which the JVM decodes the
 * same way (/proc/self/environ).
 */
final class ArgumentBytes {
    private static final Path CMDLINE = Path.of("/proc/self/cmdline");
    private static final Path ENVIRON = Path.of("/proc/self/environ");
    /** How many of an argument's bytes the refusal shows. */
    private static final int SHOWN_BYTES = 64;

    private ArgumentBytes() {}

    /** Null when every argument reached agentctl whole (or /proc cannot say), else the line saying which did not. */
    static String unreadable(String[] args) {
        byte[] cmdline;
        try {
            cmdline = Files.readAllBytes(CMDLINE);
        } catch (IOException | SecurityException e) {
            return null; // no /proc: nothing to compare with
        }
        return unreadable(args, cmdline);
    }

    /**
     * {@link #unreadable(String[])} against {@code cmdline}, the NUL-terminated command line whose
     * last entries are {@code args} (the launcher's java options and main class come before them).
     */
    static String unreadable(String[] args, byte[] cmdline) {
        List<byte[]> entries = split(cmdline);
        if (entries.size() < args.length) {
            return null; // not the command line these came from
        }
        int first = entries.size() - args.length;
        for (int i = 0; i < args.length; i++) {
            byte[] raw = entries.get(first + i);
            if (!Arrays.equals(raw, args[i].getBytes(StandardCharsets.UTF_8))) {
                return "agentctl: argument " + (i + 1) + " (" + shown(raw) + ") "
                        + (isUtf8(raw) ? "cannot be read in this locale (run agentctl with LC_ALL=C.UTF-8)"
                                : "is not UTF-8")
                        + ": the agent takes names and arguments as UTF-8 text; nothing was done";
            }
        }
        return null;
    }

    /**
     * The usage error (without "agentctl: ") for {@code -e NAME} whose value in agentctl's
     * environment is not what its bytes were; null when it is, or /proc cannot say.
     */
    static String envValueUnreadable(String name, String value) {
        try {
            return envValueUnreadable(name, value, Files.readAllBytes(ENVIRON));
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    /** {@link #envValueUnreadable(String, String)} against {@code environ}, each NAME=VALUE NUL-terminated. */
    static String envValueUnreadable(String name, String value, byte[] environ) {
        byte[] prefix = (name + "=").getBytes(StandardCharsets.UTF_8);
        for (byte[] entry : split(environ)) {
            if (entry.length >= prefix.length && Arrays.equals(entry, 0, prefix.length, prefix, 0, prefix.length)) {
                byte[] raw = Arrays.copyOfRange(entry, prefix.length, entry.length);
                return Arrays.equals(raw, value.getBytes(StandardCharsets.UTF_8)) ? null
                        : "-e " + name + ": its value in agentctl's environment (" + hexBytes(raw) + ") "
                                + (isUtf8(raw) ? "cannot be read in this locale (run agentctl with LC_ALL=C.UTF-8)"
                                        : "is not UTF-8")
                                + ": the agent takes the environment as UTF-8 text; nothing was done";
            }
        }
        return null;
    }

    private static List<byte[]> split(byte[] cmdline) {
        List<byte[]> entries = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < cmdline.length; i++) {
            if (cmdline[i] == 0) {
                entries.add(Arrays.copyOfRange(cmdline, start, i));
                start = i + 1;
            }
        }
        if (start < cmdline.length) {
            entries.add(Arrays.copyOfRange(cmdline, start, cmdline.length)); // no final NUL
        }
        return entries;
    }

    private static boolean isUtf8(byte[] raw) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /**
     * The bytes in hex, at most {@link #SHOWN_BYTES}: a usage error's line escapes backslashes, so
     * the \xNN form would show doubled there.
     */
    private static String hexBytes(byte[] raw) {
        StringBuilder s = new StringBuilder("bytes");
        for (int i = 0; i < Math.min(raw.length, SHOWN_BYTES); i++) {
            s.append(String.format(" %02x", raw[i] & 0xff));
        }
        return s.append(raw.length > SHOWN_BYTES ? " ..." : "").toString();
    }

    /** The bytes with printable ASCII as it is and every other byte as \xNN, at most {@link #SHOWN_BYTES}. */
    private static String shown(byte[] raw) {
        StringBuilder s = new StringBuilder("\"");
        for (int i = 0; i < Math.min(raw.length, SHOWN_BYTES); i++) {
            int b = raw[i] & 0xff;
            if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
                s.append((char) b);
            } else {
                s.append(String.format("\\x%02x", b));
            }
        }
        return s.append(raw.length > SHOWN_BYTES ? "\"..." : "\"").toString();
    }
}
