package io.agentd.client;

import io.agentd.client.relay.IdRange;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Predicate;

/**
 * The ids live on one connection and the {@link Receiver} of each: hands out fresh ids (all u32 ids,
 * or a relay's range once its greeting came), and none once the connection has ended, so that every
 * receiver ever registered is failed by the end. Thread-safe.
 */
final class LiveIds {
    private final Map<Long, Receiver> live = new ConcurrentHashMap<>();

    private final Object lock = new Object();
    /** All u32 ids; once a relay's greeting came, its range. Guarded by lock. */
    private SessionIds ids = new SessionIds();
    /** The range a relay's greeting gave; null for a direct agent (or before the first bytes came). */
    private volatile IdRange relayRange;
    /** Why the connection ended, once it has; guarded by lock (no id is registered after it is set). */
    private ConnectionLostException ended;

    /**
     * Allocates an id that is not live, builds the owner for it, and registers its receiver, all under
     * the lock, so nothing registers after the connection has ended.
     */
    <T> T register(LongFunction<T> make, Function<T, Receiver> receiverOf) throws AgentException {
        synchronized (lock) {
            if (ended != null) {
                throw new ConnectionLostException(ended.getMessage(), ended);
            }
            long id = ids.allocate(live::containsKey);
            T owner = make.apply(id);
            live.put(id, receiverOf.apply(owner));
            return owner;
        }
    }

    /** The receiver of {@code id}, or null when it is not live. */
    Receiver get(long id) {
        return live.get(id);
    }

    /** Ends {@code id}: returns its receiver, or null when it was not live. */
    Receiver remove(long id) {
        return live.remove(id);
    }

    /** Ends {@code id} if {@code receiver} is still its receiver. */
    boolean remove(long id, Receiver receiver) {
        return live.remove(id, receiver);
    }

    /** Frees {@code id} while {@code owns} says its receiver is still the caller's; returns whether it freed it. */
    boolean retire(long id, Predicate<Receiver> owns) {
        Receiver receiver = live.get(id);
        return receiver != null && owns.test(receiver) && live.remove(id, receiver);
    }

    /** Ends every open session and call with {@code why}; returns how many there were. */
    int abortAll(AgentException why) {
        int aborted = 0;
        for (Long id : live.keySet()) {
            Receiver receiver = live.remove(id);
            if (receiver != null) {
                receiver.onAbort(why);
                aborted++;
            }
        }
        return aborted;
    }

    /** A relay's greeting came: every id from now on comes from {@code range}. */
    void useRelayRange(IdRange range) {
        synchronized (lock) {
            ids = SessionIds.within(range.start(), range.endExclusive());
            relayRange = range;
        }
    }

    /** The range a relay's greeting gave; null for a direct agent (or before the first bytes came). */
    IdRange relayRange() {
        return relayRange;
    }

    /** Records why the connection ended; false when it had ended before (the first cause stays). */
    boolean end(ConnectionLostException why) {
        synchronized (lock) {
            if (ended != null) {
                return false;
            }
            ended = why;
            return true;
        }
    }

    /** Why the connection ended; null while it has not. */
    ConnectionLostException endCause() {
        synchronized (lock) {
            return ended;
        }
    }

    /** Fails with why the connection ended (a copy, whose cause is the original), once it has. */
    void checkNotEnded() throws ConnectionLostException {
        ConnectionLostException why = endCause();
        if (why != null) {
            throw new ConnectionLostException(why.getMessage(), why);
        }
    }
}
