package io.agentd.agent;

import io.agentd.agent.transport.HostLossPolicy;

/**
 * Per-owner state other than sessions (fs handles, ...) hooks here to hear that the owner of some of
 * a connection's ids is gone: the connection's host ({@link OwnedIds#ALL}), or a relay client that
 * held a range of them. Register with {@link Connection#addOwnerGoneListener}. Loop thread only.
 */
@FunctionalInterface
public interface OwnerGoneListener {
    /**
     * @param ids            the ids whose owner left
     * @param policy         the connection's host-loss policy (kill: end what they owned; keep: it may be
     *                       taken up again)
     * @param connectionOver the connection itself is done (a socket); false when only a relay client
     *                       left, or a port's host side went away and may come back to the same link
     */
    void ownerGone(OwnedIds ids, HostLossPolicy policy, boolean connectionOver);
}
