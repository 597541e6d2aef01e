package io.agentd.bench;

/**
 * Pings the agent at a steady pace while a load runs: {@link Pinger} from this process on a
 * connection of its own, {@link GuestPinger} from a process inside the agent's guest.
 */
interface PingSeries {
    /** Round trips from now on are counted. */
    void start() throws Exception;

    /**
     * Round trips taken before {@link #start}, with nothing else running, when the series has its
     * own (its idle baseline); null when the caller's idle pings stand for it.
     */
    default Samples idle() {
        return null;
    }

    /** Stops pinging; the round trips since {@link #start}. A ping that failed or hung throws. */
    Samples stopAndCollect() throws Exception;
}
