package io.agentd.agent.loop;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.nio.ByteBuffer;

/**
 * An epoll instance, level-triggered unless a registration asks for {@link #EDGE}. Each registration carries a 64-bit token (the loop's handle for
 * it), so an event for an fd that was removed and reused in the same batch is recognised as stale.
 */
final class Epoll implements AutoCloseable {
    static final int IN = 0x1;
    static final int OUT = 0x4;
    static final int ERR = 0x8;
    static final int HUP = 0x10;
    /** EPOLLET: report a change of readiness once, not for as long as it lasts. */
    static final int EDGE = 0x80000000;

    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int CTL_ADD = 1;
    private static final int CTL_DEL = 2;
    private static final int CTL_MOD = 3;

    /** struct epoll_event is packed on x86_64 (12 bytes), naturally aligned elsewhere (16 bytes). */
    private static final boolean PACKED = "amd64".equals(System.getProperty("os.arch"))
            || "x86_64".equals(System.getProperty("os.arch"));
    private static final int EVENT_SIZE = PACKED ? 12 : 16;
    private static final int DATA_OFFSET = PACKED ? 4 : 8;

    private final int epfd;
    private final int capacity;
    private final ByteBuffer events;
    private final ByteBuffer ctlEvent;
    private int ready;

    Epoll(int capacity) throws OsException {
        this.epfd = Os.check("epoll_create1", Os.libc().epoll_create1(EPOLL_CLOEXEC));
        this.capacity = capacity;
        this.events = Os.allocate(Math.multiplyExact(capacity, EVENT_SIZE));
        this.ctlEvent = Os.allocate(EVENT_SIZE);
    }

    void add(int fd, int mask, long token) throws OsException {
        ctl(CTL_ADD, fd, mask, token, "epoll_ctl(ADD)");
    }

    void modify(int fd, int mask, long token) throws OsException {
        ctl(CTL_MOD, fd, mask, token, "epoll_ctl(MOD)");
    }

    void remove(int fd) throws OsException {
        ctl(CTL_DEL, fd, 0, 0, "epoll_ctl(DEL)");
    }

    private void ctl(int op, int fd, int mask, long token, String call) throws OsException {
        ctlEvent.putInt(0, mask);
        ctlEvent.putLong(DATA_OFFSET, token);
        Os.check(call, Os.libc().epoll_ctl(epfd, op, fd, ctlEvent));
    }

    /** Waits up to {@code timeoutMs} (-1 = forever); returns the number of ready events (0 on EINTR). */
    int await(int timeoutMs) throws OsException {
        int n = Os.libc().epoll_wait(epfd, events, capacity, timeoutMs);
        if (n < 0) {
            int err = Os.errno();
            if (err != LibC.EINTR) {
                throw new OsException("epoll_wait", err);
            }
            n = 0;
        }
        ready = n;
        return n;
    }

    int mask(int i) {
        check(i);
        return events.getInt(i * EVENT_SIZE);
    }

    long token(int i) {
        check(i);
        return events.getLong(i * EVENT_SIZE + DATA_OFFSET);
    }

    private void check(int i) {
        if (i < 0 || i >= ready) {
            throw new IndexOutOfBoundsException(i);
        }
    }

    @Override
    public void close() {
        Os.close(epfd);
    }
}
