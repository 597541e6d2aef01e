package io.agentd.agent.fs;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.FsResponse;

/**
 * An fs operation that failed: the errno when it has one (0 when not) and the human-readable text
 * that goes in core.fs.response's {@code error}.
 */
final class FsFailure extends Exception {
    private static final long serialVersionUID = 1L;

    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EIO = 5;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EEXIST = 17;
    static final int ENOTDIR = 20;
    static final int EISDIR = 21;
    static final int EINVAL = 22;
    static final int EFBIG = 27;
    static final int ENOSPC = LibC.ENOSPC;
    static final int ENAMETOOLONG = 36;
    static final int E2BIG = 7;
    static final int ENOBUFS = 105;
    static final int ELOOP = 40;
    static final int ENOTEMPTY = 39;
    static final int ECANCELED = 125;

    private final int errno;

    FsFailure(int errno, String message) {
        super(message);
        this.errno = errno;
    }

    /** "what: strerror (os error N)", the reference's wording after what was being done. */
    static FsFailure of(int errno, String what) {
        return new FsFailure(errno, what + ": " + Os.errnoDescription(errno) + " (os error " + errno + ")");
    }

    int errno() {
        return errno;
    }

    /** The response for this failure; errno and its name only when the host asked ({@code extended}). */
    FsResponse response(boolean extended) {
        if (!extended || errno == 0) {
            return FsResponse.failure(getMessage());
        }
        return new FsResponse(false, getMessage(), null, errno, Os.errnoName(errno), null);
    }
}
