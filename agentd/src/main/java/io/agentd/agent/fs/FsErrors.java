package io.agentd.agent.fs;

import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.util.HashMap;
import java.util.Map;

/**
 * The errno behind a java.nio.file exception. The JDK runs the system call and throws a typed
 * exception for the common errnos (ENOENT, EACCES, EEXIST, ...) and a FileSystemException whose
 * reason is strerror(errno) for the others, so the errno is found from the type, else from the
 * reason text: glibc's strerror text for that errno, which Os.errnoDescription gives.
 */
final class FsErrors {
    /** Past Linux's highest errno (133, EHWPOISON): every number glibc has a text for. */
    private static final int MAX_ERRNO = 255;
    private static final Map<String, Integer> BY_DESCRIPTION = new HashMap<>();

    static {
        for (int errno = 1; errno <= MAX_ERRNO; errno++) {
            if (Os.errnoName(errno).startsWith("E")) { // not "errno N": a number glibc knows
                BY_DESCRIPTION.putIfAbsent(Os.errnoDescription(errno), errno);
            }
        }
    }

    private FsErrors() {}

    /** The failure for {@code e}, thrown while doing {@code what} (e.g. "open /tmp/f"). */
    static FsFailure from(IOException e, String what) {
        int errno = errno(e);
        if (errno != 0) {
            return FsFailure.of(errno, what);
        }
        return new FsFailure(FsFailure.EIO, what + ": " + e.getMessage());
    }

    static int errno(IOException e) {
        if (e instanceof NoSuchFileException) {
            return FsFailure.ENOENT;
        } else if (e instanceof AccessDeniedException a) {
            return "Operation not permitted".equals(a.getReason()) ? FsFailure.EPERM : FsFailure.EACCES;
        } else if (e instanceof FileAlreadyExistsException) {
            return FsFailure.EEXIST;
        } else if (e instanceof DirectoryNotEmptyException) {
            return FsFailure.ENOTEMPTY;
        } else if (e instanceof NotDirectoryException) {
            return FsFailure.ENOTDIR;
        } else if (e instanceof NotLinkException) {
            return FsFailure.EINVAL;
        } else if (e instanceof FileSystemLoopException) {
            return FsFailure.ELOOP;
        } else if (e instanceof ClosedChannelException) {
            return FsFailure.EBADF;
        } else if (e instanceof FileSystemException f && f.getReason() != null) {
            String reason = f.getReason();
            Integer errno = BY_DESCRIPTION.get(reason);
            if (errno == null && reason.startsWith("Too many levels of symbolic links")) {
                return FsFailure.ELOOP;
            }
            return errno == null ? 0 : errno;
        }
        String message = e.getMessage();
        Integer errno = message == null ? null : BY_DESCRIPTION.get(message);
        return errno == null ? 0 : errno;
    }

    /** A channel used the wrong way round (Read on a write-only handle). */
    static FsFailure from(RuntimeException e, String what) {
        if (e instanceof NonReadableChannelException) {
            return new FsFailure(FsFailure.EBADF, what + ": the handle was not opened for reading (os error 9)");
        }
        if (e instanceof NonWritableChannelException) {
            return new FsFailure(FsFailure.EBADF, what + ": the handle was not opened for writing (os error 9)");
        }
        return new FsFailure(FsFailure.EINVAL, what + ": " + e.getMessage());
    }
}
