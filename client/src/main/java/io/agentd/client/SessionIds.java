package io.agentd.client;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongPredicate;

/**
 * Hands out the ids of sessions and calls: u32, never 0 (the control channel), never one still live.
 * Ids go up and wrap after 2^32-1, so an id is reused only after four billion others. Not thread-safe.
 *
 * <p>Each connection starts at a random id. Over a virtio port the agent keeps a host's sessions
 * running after that host goes away (a killed agentctl, a VMM that reconnects), so ids counted from
 * 1 by every new connection collided with them: the next host's request was refused as "session 1
 * is running", and the old session's output and exit would have gone to the new session of that id.
 */
final class SessionIds {
    static final long MAX_ID = 0xFFFF_FFFFL;

    private long next;

    SessionIds() {
        this(1 + ThreadLocalRandom.current().nextLong(MAX_ID));
    }

    /** Starts at {@code first} (tests start near the wrap). */
    SessionIds(long first) {
        this.next = first;
    }

    long allocate(LongPredicate isLive) {
        long id = next;
        while (id == 0 || isLive.test(id)) {
            id = after(id);
        }
        next = after(id);
        return id;
    }

    private static long after(long id) {
        return id >= MAX_ID ? 1 : id + 1;
    }
}
