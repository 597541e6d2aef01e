package io.agentd.client.fs;

/**
 * One fs request's id as the caller that waits for it holds it: each wait for the agent first asks
 * whether this thread may wait at all (not the connection's reader), and a caller that gives up on
 * the request (a timeout, an interrupt, a stream closed early) retires the id, so that an agent that
 * answers late, or never, does not keep it registered.
 */
record FsId(FsTransport transport, long id, FsListener listener) {

    /** Throws IllegalStateException on the connection's reader thread, which alone could end the wait. */
    void refuseWaitHere(String what) {
        transport.refuseWaitHere(what);
    }

    /** Nobody waits for this request any longer: its id is freed, and what the agent still sends on it is dropped. */
    void retire() {
        transport.retire(id, listener);
    }
}
