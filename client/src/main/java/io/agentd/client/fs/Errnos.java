package io.agentd.client.fs;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Linux errnos a file operation reports, by number and name, with strerror's wording: an
 * agent without the fs extensions sends only its message, which ends in "(os error N)" (Rust's
 * io::Error wording, which the reference uses), so the number is read from there.
 */
final class Errnos {
    private static final Pattern OS_ERROR = Pattern.compile("\\(os error (\\d{1,4})\\)\\s*$");

    private record Errno(String name, String description) {}

    private static final Map<Integer, Errno> BY_NUMBER = Map.ofEntries(
            Map.entry(1, new Errno("EPERM", "Operation not permitted")),
            Map.entry(2, new Errno("ENOENT", "No such file or directory")),
            Map.entry(5, new Errno("EIO", "Input/output error")),
            Map.entry(7, new Errno("E2BIG", "Argument list too long")),
            Map.entry(9, new Errno("EBADF", "Bad file descriptor")),
            Map.entry(11, new Errno("EAGAIN", "Resource temporarily unavailable")),
            Map.entry(12, new Errno("ENOMEM", "Cannot allocate memory")),
            Map.entry(13, new Errno("EACCES", "Permission denied")),
            Map.entry(16, new Errno("EBUSY", "Device or resource busy")),
            Map.entry(17, new Errno("EEXIST", "File exists")),
            Map.entry(18, new Errno("EXDEV", "Invalid cross-device link")),
            Map.entry(20, new Errno("ENOTDIR", "Not a directory")),
            Map.entry(21, new Errno("EISDIR", "Is a directory")),
            Map.entry(22, new Errno("EINVAL", "Invalid argument")),
            Map.entry(23, new Errno("ENFILE", "Too many open files in system")),
            Map.entry(24, new Errno("EMFILE", "Too many open files")),
            Map.entry(26, new Errno("ETXTBSY", "Text file busy")),
            Map.entry(27, new Errno("EFBIG", "File too large")),
            Map.entry(28, new Errno("ENOSPC", "No space left on device")),
            Map.entry(30, new Errno("EROFS", "Read-only file system")),
            Map.entry(31, new Errno("EMLINK", "Too many links")),
            Map.entry(36, new Errno("ENAMETOOLONG", "File name too long")),
            Map.entry(39, new Errno("ENOTEMPTY", "Directory not empty")),
            Map.entry(40, new Errno("ELOOP", "Too many levels of symbolic links")),
            Map.entry(95, new Errno("EOPNOTSUPP", "Operation not supported")),
            Map.entry(105, new Errno("ENOBUFS", "No buffer space available")),
            Map.entry(122, new Errno("EDQUOT", "Disk quota exceeded")),
            Map.entry(125, new Errno("ECANCELED", "Operation canceled")));

    private Errnos() {}

    /** The errno at the end of an agent's message ("... (os error 2)"), or 0. */
    static int fromMessage(String message) {
        if (message == null) {
            return 0;
        }
        Matcher m = OS_ERROR.matcher(message);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** "ENOENT" for 2; null for 0 or a number this table does not hold. */
    static String name(int errno) {
        Errno e = BY_NUMBER.get(errno);
        return e == null ? null : e.name();
    }

    /** strerror's text ("No such file or directory"), or null when not known. */
    static String description(int errno) {
        Errno e = BY_NUMBER.get(errno);
        return e == null ? null : e.description();
    }

    /** The number of a name this table holds, or 0. */
    static int number(String name) {
        for (Map.Entry<Integer, Errno> e : BY_NUMBER.entrySet()) {
            if (e.getValue().name().equals(name)) {
                return e.getKey();
            }
        }
        return 0;
    }
}
