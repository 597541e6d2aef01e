package io.agentd.agent.fs;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * One connection's fs requests in progress, by id and by owner ({@link FsOwners}), and whether
 * another may start. The connection has {@link FsSettings#maxActive()} at once in all, and behind a
 * relay one client at most {@link #RELAY_CLIENT_PART} of them: with the connection's limit alone,
 * one relay client's requests made every other client's "agent busy". Loop thread only.
 */
final class FsRequestsInProgress {
    /** The part of the connection's requests in progress one relay client may have: a quarter. */
    static final int RELAY_CLIENT_PART = 4;

    private final FsSettings settings;
    private final Map<Long, FsService.Active> active = new HashMap<>();
    /** Requests in progress by owner, and the owner each was admitted under. */
    private final Map<Long, Integer> activeByOwner = new HashMap<>();
    private final Map<Long, Long> ownerOfActive = new HashMap<>();
    /**
     * Requests stopped (their owner gone) whose task is still queued or running on a worker: they
     * count against {@link FsSettings#maxActive()} until it is done, so that a host cannot queue
     * work without bound by starting requests and ending their owner, again and again.
     */
    private int abortedInWork;

    FsRequestsInProgress(FsSettings settings) {
        this.settings = settings;
    }

    /** True while a request on {@code id} has not sent its terminal response. */
    boolean contains(long id) {
        return active.containsKey(id);
    }

    /**
     * Tells every request in progress that the agent stops ({@link FsService.Active#agentShuttingDown}):
     * each ends with an answer, now or later (those untrack themselves then). How many were told.
     */
    int agentShuttingDown() {
        List<FsService.Active> told = new ArrayList<>(active.values()); // answering now changes the map
        told.forEach(FsService.Active::agentShuttingDown);
        return told.size();
    }

    boolean isEmpty() {
        return active.isEmpty();
    }

    /**
     * Why a request of {@code owner} may not start now (how many are in progress, and whose), or
     * null when it may.
     */
    String whyFull(long owner) {
        int clientMax = Math.max(1, settings.maxActive() / RELAY_CLIENT_PART);
        boolean clientFull = owner != FsOwners.CONNECTION && activeByOwner.getOrDefault(owner, 0) >= clientMax;
        if (clientFull || active.size() + abortedInWork >= settings.maxActive()) {
            return clientFull ? clientMax + " fs requests in progress for this relay client"
                    : settings.maxActive() + " fs requests in progress on this connection";
        }
        return null;
    }

    void track(long id, long owner, FsService.Active request) {
        active.put(id, request);
        ownerOfActive.put(id, owner);
        activeByOwner.merge(owner, 1, Integer::sum);
    }

    /** Forgets the request on {@code id} (null if none) and its count on its owner. */
    FsService.Active untrack(long id) {
        FsService.Active request = active.remove(id);
        Long owner = ownerOfActive.remove(id);
        if (owner != null) {
            activeByOwner.computeIfPresent(owner, (o, n) -> n == 1 ? null : n - 1);
        }
        return request;
    }

    /** The ids in progress that {@code ids} takes. */
    List<Long> idsOf(LongPredicate ids) {
        List<Long> matching = new ArrayList<>();
        for (Long id : active.keySet()) {
            if (ids.test(id)) {
                matching.add(id);
            }
        }
        return matching;
    }

    /** A request was stopped while its task is queued or running: it counts until that task ends. */
    void stoppedInWork() {
        abortedInWork++;
    }

    /** The task of a request stopped in work ended ({@link #stoppedInWork}). */
    void stoppedWorkEnded() {
        abortedInWork--;
    }
}
