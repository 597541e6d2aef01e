package io.agentd.agent.sys;

import java.io.IOException;

/** A failed libc call: which call and its errno. */
public final class OsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public OsException(String call, int errno) {
        super(call + ": " + Os.errnoName(errno) + " (" + Os.errnoDescription(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }

    public String errnoName() {
        return Os.errnoName(errno);
    }
}
