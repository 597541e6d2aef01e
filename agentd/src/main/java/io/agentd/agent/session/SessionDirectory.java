package io.agentd.agent.session;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Timer;
import io.agentd.agent.session.retain.OutputRing;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.Utf8Text;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every session of the agent by its agent-wide number (sessions extension): the numbers, the list,
 * and how long an exited session waits for an attach. A session is here from its start until it is
 * collected: its exit delivered to an attached host, or, with no host attached, after
 * --retain-exited. Loop thread only.
 */
final class SessionDirectory {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);
    /** In a list, each session's args are cut to this many entries... */
    static final int LIST_ARGS_MAX_ENTRIES = 64;
    /** ...and this many bytes of text, so that the answer always fits one frame... */
    static final int LIST_ARGS_MAX_BYTES = 1024;
    /** ...and the cmd to this many bytes (a session's entry is then at most about 2.5 KiB). */
    static final int LIST_CMD_MAX_BYTES = 1024;
    /**
     * Most exited sessions held for an attach at once: a host that starts short detached commands
     * and never comes back must not make the agent hold sessions without bound for --retain-exited.
     * Past it, the oldest exit is forgotten first.
     */
    static final int MAX_HELD_EXITS = 1024;
    /**
     * How long an exit delivered to an attached host stays open to a relay's core.relay.exit.dropped
     * (its client had left as the exit came). The relay sends it as the exit reaches it, or as it
     * drops the client's queue; a relay held up by a slow client stops reading the agent for as long
     * as that client takes 1 MiB every 10 s, so the bound is generous, and the count below is what
     * bounds the memory.
     */
    static final long EXIT_DOUBT_MILLIS = 60_000;
    /** Most delivered exits open to that at once, the oldest let go first. */
    static final int MAX_DOUBTED_EXITS = 1024;

    private final Loop loop;
    private final long retainExitedMillis;
    private final Map<Long, Session> byNumber = new TreeMap<>();
    /** Exited sessions waiting for an attach, oldest exit first, with the timer that forgets each. */
    private final Map<Session, Timer> expiries = new LinkedHashMap<>();
    /**
     * Sessions collected with their exit delivered to a host whose sessions would have run on without
     * it (detachable, or kept by its policy), for {@link #EXIT_DOUBT_MILLIS}: by the key the exit went
     * to, with the timer that lets each go. Their kept output is released; only the exit is kept.
     * The timer is {@link #NOT_YET} while the exit waits in the queue of a port whose host is away: its doubt
     * starts when a host comes back ({@link #hostReturned}), since nobody could read it, nor drop it,
     * before (a relay restarted after a minute found the window shut and the status was lost).
     */
    private final Map<SessionKey, Map.Entry<Session, Timer>> doubted = new LinkedHashMap<>();
    /** Exits forgotten before their retention because {@link #MAX_HELD_EXITS} were held. */
    private long forcedOut;
    private long lastNumber;

    SessionDirectory(Loop loop, long retainExitedMillis) {
        this.loop = loop;
        this.retainExitedMillis = retainExitedMillis;
    }

    /** The number for the next session: counted from 1, never reused while the agent runs. */
    long nextNumber() {
        return ++lastNumber;
    }

    void add(Session s) {
        byNumber.put(s.number, s);
    }

    /** The session numbered {@code number}, running or exited and not collected yet; else null. */
    Session get(long number) {
        return byNumber.get(number);
    }

    int size() {
        return byNumber.size();
    }

    /**
     * The session sent its exited. Delivered to an attached host, it is collected now; with no host
     * attached, its status is held for an attach until the retention passes.
     */
    void exited(Session s) {
        if (s.route.attached()) {
            boolean keptWithoutItsHost = s.route.keptIfItsHostLeaves();
            keyTaken(s.route.key()); // an earlier exit on the key is past doubt: this one came after it
            collect(s);
            if (keptWithoutItsHost) {
                doubt(s);
            }
            return;
        }
        log.info("session {} (number {}) exited with no host attached: its status is kept for an attach for {} ms",
                s.id, s.number, retainExitedMillis);
        if (expiries.size() >= MAX_HELD_EXITS) {
            forgetOldestHeldExit();
        }
        expiries.put(s, loop.schedule(retainExitedMillis, () -> {
            expiries.remove(s);
            log.info("session {} (number {}): nobody attached within {} ms of its exit; forgotten", s.id,
                    s.number, retainExitedMillis);
            forget(s);
        }));
    }

    private void doubt(Session s) {
        SessionKey key = s.route.key();
        if (doubted.size() >= MAX_DOUBTED_EXITS) {
            Iterator<Map.Entry<SessionKey, Map.Entry<Session, Timer>>> oldest = doubted.entrySet().iterator();
            oldest.next().getValue().getValue().cancel();
            oldest.remove();
        }
        // Nothing is doubted under the key now: exited() let the key's earlier exit go first.
        doubted.put(key, Map.entry(s, s.route.hostAway() ? NOT_YET : doubtTimer(key)));
    }

    /** Stands for the timer of a doubt that has not started ({@link #doubted}). */
    private static final Timer NOT_YET = () -> {};

    private Timer doubtTimer(SessionKey key) {
        return loop.schedule(EXIT_DOUBT_MILLIS, () -> doubted.remove(key));
    }

    /**
     * A host is back on the port of connection {@code connection}: the doubt of the exits queued
     * while it was away starts, and that of the exits queued before it left (still unwritten then:
     * a hang-up keeps whole frames for the next host) starts again, since they reach a host only now.
     */
    void hostReturned(long connection) {
        for (Map.Entry<SessionKey, Map.Entry<Session, Timer>> e : doubted.entrySet()) {
            if (e.getKey().connection() == connection) {
                e.getValue().getValue().cancel();
                e.setValue(Map.entry(e.getValue().getKey(), doubtTimer(e.getKey())));
            }
        }
    }

    /**
     * A session now answers to {@code key} (started or attached there, or its exit delivered there):
     * an exit delivered on it before is no longer open to a relay's core.relay.exit.dropped, which
     * from now on would be about this one.
     */
    void keyTaken(SessionKey key) {
        stopDoubting(key);
    }

    /** The session whose delivered exit on {@code key} was open to the notice, now no longer; or null. */
    private Session stopDoubting(SessionKey key) {
        Map.Entry<Session, Timer> e = doubted.remove(key);
        if (e == null) {
            return null;
        }
        e.getValue().cancel();
        return e.getKey();
    }

    /** The connection is closed for good: its delivered exits are past any relay's notice. */
    void connectionClosed(long connection) {
        Iterator<Map.Entry<SessionKey, Map.Entry<Session, Timer>>> it = doubted.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<SessionKey, Map.Entry<Session, Timer>> e = it.next();
            if (e.getKey().connection() == connection) {
                e.getValue().getValue().cancel();
                it.remove();
            }
        }
    }

    /**
     * A relay dropped the exit the session on {@code key} sent (core.relay.exit.dropped): if that
     * exit is still open to it, the session is listed again, its exit held for an attach as if its
     * host had left before it; returns it, else null.
     */
    Session exitDropped(SessionKey key) {
        Session s = stopDoubting(key);
        if (s == null || !s.route.holdSentExitAgain()) {
            return null;
        }
        byNumber.put(s.number, s);
        exited(s);
        return s;
    }

    private void forgetOldestHeldExit() {
        Iterator<Map.Entry<Session, Timer>> oldest = expiries.entrySet().iterator();
        Map.Entry<Session, Timer> e = oldest.next();
        oldest.remove();
        e.getValue().cancel();
        forget(e.getKey());
        forcedOut++;
        if (Long.bitCount(forcedOut) == 1) { // 1, 2, 4, 8...: a bounded number of lines however many
            log.info("{} exits held for an attach: session number {}'s forgotten before its retention ({} so far)",
                    MAX_HELD_EXITS, e.getKey().number, forcedOut);
        }
    }

    /** Exited sessions waiting for an attach. */
    int heldExits() {
        return expiries.size();
    }

    /** An attach delivered the exit: the session is gone from the list. */
    void collect(Session s) {
        Timer t = expiries.remove(s);
        if (t != null) {
            t.cancel();
        }
        forget(s);
    }

    /** The session was killed with its host (no exit to keep): gone at once. */
    void abandoned(Session s) {
        forget(s);
    }

    private void forget(Session s) {
        byNumber.remove(s.number, s);
        s.route.release();
    }

    /** Every session, by number: what core.session.list.result carries. */
    List<SessionInfo> list() {
        List<SessionInfo> infos = new ArrayList<>(byNumber.size());
        for (Session s : byNumber.values()) {
            infos.add(info(s));
        }
        return infos;
    }

    /**
     * The answer to core.session.list on {@code id}: every session by number, as many as fit one
     * frame; the newest that do not are counted in {@code omitted}, never dropped silently.
     */
    SessionListResult listResult(long id) {
        return listResult(id, Protocol.MAX_FRAME_LEN);
    }

    /** {@link #listResult(long)} within {@code maxFrameBytes}. */
    SessionListResult listResult(long id, int maxFrameBytes) {
        return fitted(id, list(), maxFrameBytes);
    }

    /**
     * The first of {@code infos} whose frame on {@code id}, length prefix included, takes at most
     * {@code maxFrameBytes}, and how many were left out. Each entry is measured as it encodes (the
     * frame with it alone less the frame with none, which counts a header's growth too); the budget
     * keeps room for the largest omitted and for the array's and payload's heads at their largest.
     */
    static SessionListResult fitted(long id, List<SessionInfo> infos, int maxFrameBytes) {
        FrameEncoder encoder = new FrameEncoder();
        int empty = encoder.encodedSize(listFrame(id, List.of(), 0));
        long budget = maxFrameBytes - encoder.encodedSize(listFrame(id, List.of(), Long.MAX_VALUE)) - HEADS_GROWTH;
        List<SessionInfo> listed = new ArrayList<>();
        long used = 0;
        for (SessionInfo info : infos) {
            used += encoder.encodedSize(listFrame(id, List.of(info), 0)) - empty;
            if (used > budget) {
                break;
            }
            listed.add(info);
        }
        return new SessionListResult(listed, infos.size() - listed.size());
    }

    /** The sessions array's head (1 to 5 bytes) and the payload byte string's (2 to 5) grow with the list. */
    private static final int HEADS_GROWTH = 16;

    private static Frame listFrame(long id, List<SessionInfo> infos, long omitted) {
        return new Frame(id, MessageType.SESSION_LIST_RESULT, new SessionListResult(infos, omitted));
    }

    static SessionInfo info(Session s) {
        ExitStatus exit = s.isDone() ? s.exit() : null;
        SessionRoute out = s.route;
        OutputRing ring = out.ring();
        long end = out.offset();
        return new SessionInfo(s.number, s.pid, s.listed.cmd(), s.listed.args(), s.isTty(),
                s.listed.user(), exit == null ? SessionInfo.RUNNING : SessionInfo.EXITED, s.startedUnixMillis,
                exit == null ? null : exit.code(), exit == null ? null : exit.signal(), end,
                ring == null ? end : ring.start(), end, ring == null ? 0 : ring.dropped(), out.attached(),
                s.detachable);
    }

    /** What a session's entry in the list shows of its request, kept from its start. */
    record Listed(String cmd, List<String> args, String user) {
        static Listed of(SpawnSpec spec) {
            return new Listed(listedCmd(spec.cmd()), List.copyOf(listedArgs(spec.args())), spec.user());
        }
    }

    /** The cmd as listed: at most {@link #LIST_CMD_MAX_BYTES} bytes; a cut one ends with "… (N bytes)". */
    static String listedCmd(String cmd) {
        return Utf8Text.cut(cmd, LIST_CMD_MAX_BYTES);
    }

    /**
     * The args as listed: at most {@link #LIST_ARGS_MAX_ENTRIES} entries and
     * {@link #LIST_ARGS_MAX_BYTES} bytes; a cut list ends with "… (N more)".
     */
    static List<String> listedArgs(List<String> args) {
        List<String> listed = new ArrayList<>();
        int bytes = 0;
        for (String a : args) {
            int n = a.getBytes(StandardCharsets.UTF_8).length;
            if (listed.size() == LIST_ARGS_MAX_ENTRIES || bytes + n > LIST_ARGS_MAX_BYTES) {
                listed.add("… (" + (args.size() - listed.size()) + " more)");
                return listed;
            }
            bytes += n;
            listed.add(a);
        }
        return listed;
    }
}
