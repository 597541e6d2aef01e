package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.spawn.Profile;
import io.agentd.agent.spawn.SpawnFailure;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FailureKind;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A spawn on its way while the rest of the agent goes on (the spawn runs off the loop:
 * {@link OffLoopSpawns}). On a scripted loop, with the spawns' outcomes handed back when the test
 * says: a shutdown waits for a spawn in flight, signals the session it brings, and is not ended by
 * the last other session's exit meanwhile. And the real spawner thread: the spawn runs off the
 * caller's thread, its outcome on the loop's. Pipes: stdin 10, stdout 11, stderr 12, pidfd 13; pid 100.
 */
class SpawnInFlightTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private final ScriptedIo io = new ScriptedIo();
    private final RecordingHost out = new RecordingHost();
    private final SessionHost host = new SessionHost(1, out);
    /** The outcomes of the spawns asked for, in order, for the test to hand back. */
    private final List<SpawnRunner.Outcome> inFlight = new ArrayList<>();
    private final AtomicInteger idle = new AtomicInteger();
    private final AtomicInteger answered = new AtomicInteger();
    private final Sessions sessions = new Sessions(loop, (spec, cgroupFd) -> {
        throw new AssertionError("the test's runner never calls the starter");
    }, (starter, spec, cgroupFd, outcome) -> inFlight.add(outcome), new SessionDefaults(null, null, List.of(),
            Profile.DEFAULT, 250, 2000, 1024, 4096, 512), io);

    SpawnInFlightTest() {
        sessions.setOnIdle(idle::incrementAndGet);
    }

    private void request(long id) {
        sessions.onExecRequest(host, id, ExecRequest.of("sleep", "60"), answered::incrementAndGet);
    }

    @Test
    void aShutdownWaitsForASpawnInFlightAndSignalsTheSessionItBrings() {
        request(5);
        assertEquals(0, answered.get(), "not answered until the spawn's outcome is in");
        assertFalse(sessions.isEmpty(), "a spawn in flight is not an empty agent");
        sessions.beginShutdown();
        assertEquals(0, idle.get(), "the shutdown waits for it");

        inFlight.get(0).spawned(new Child(100, 13, 10, 11, 12, false), null, null);
        assertEquals(1, answered.get());
        assertEquals(List.of(MessageType.EXEC_STARTED), out.types());
        assertEquals(List.of("100:" + LibC.SIGTERM), io.signals, "what the sessions before it got");
        loop.advance(2000); // the grace
        assertEquals(List.of("100:" + LibC.SIGTERM, "100:" + LibC.SIGKILL), io.signals);
        assertEquals(0, idle.get(), "its exit is waited for, as any session's");
    }

    @Test
    void aSessionThatStartsAfterTheGraceIsKilledAtOnce() {
        request(5);
        sessions.beginShutdown();
        loop.advance(2000);
        inFlight.get(0).spawned(new Child(100, 13, 10, 11, 12, false), null, null);
        assertEquals(List.of("100:" + LibC.SIGKILL), io.signals);
    }

    @Test
    void aSpawnThatFailsDuringTheShutdownAnswersFailedAndEndsTheWait() {
        request(5);
        sessions.beginShutdown();
        inFlight.get(0).spawned(null, new SpawnFailure(ExecFailed.of(FailureKind.NOT_FOUND, 2, "ENOENT",
                "no such file", "execve")), null);
        assertEquals(List.of(MessageType.EXEC_FAILED), out.types());
        assertEquals(1, answered.get());
        assertTrue(sessions.isEmpty());
        assertEquals(1, idle.get(), "nothing is left to wait for");
    }

    /** The last session's exit does not end a shutdown while another's spawn is still on its way. */
    @Test
    void theLastSessionsExitIsNotIdleWhileASpawnIsInFlight() {
        request(5);
        inFlight.get(0).spawned(new Child(100, 13, 10, 11, 12, false), null, null);
        request(6);
        sessions.beginShutdown();
        io.exit(100, 0);
        io.eof(11);
        io.eof(12);
        loop.fire(13, Loop.READABLE);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        loop.advance(1000); // past the drain window
        assertEquals(0, idle.get(), "session 6 is still being started");

        inFlight.get(1).spawned(null, new SpawnFailure(ExecFailed.of(FailureKind.NOT_FOUND, 2, "ENOENT",
                "no such file", "execve")), null);
        assertEquals(1, idle.get());
    }

    /**
     * A command that exits at once, its exit reaped by the sweep's waitpid(-1) before its session was
     * registered (the outcome still on its way to the loop): the status is kept for the session, not
     * taken for an orphan's; the session sees its exit and sends exited. (Before NewChildren, it
     * waited for an exit that never came: a 64 KiB command of a thousand hung that way.)
     */
    @Test
    void anExitTheSweepReapsBeforeTheSessionIsRegisteredReachesTheSession() {
        Child child = new Child(100, 13, 10, 11, 12, false);
        List<Runnable> outcomes = new ArrayList<>();
        Sessions spawnsNow = new Sessions(loop, (spec, cgroupFd) -> child,
                (starter, spec, cgroupFd, outcome) -> {
                    Child started;
                    try {
                        started = starter.start(spec, cgroupFd); // as the spawner thread does, outcome held
                    } catch (SpawnFailure f) {
                        throw new AssertionError(f);
                    }
                    outcomes.add(() -> outcome.spawned(started, null, null));
                }, new SessionDefaults(null, null, List.of(), Profile.DEFAULT, 250, 2000, 1024, 4096, 512), io);
        spawnsNow.start();
        spawnsNow.onExecRequest(host, 5, ExecRequest.of("true"), answered::incrementAndGet);
        io.exit(100, 0);
        loop.advance(Reaper.SWEEP_MILLIS); // the sweep reaps pid 100, no leader yet
        assertEquals(0, answered.get());

        outcomes.get(0).run();
        io.eof(11);
        io.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        loop.advance(1000); // the kept status delivered, and past the drain window
        assertEquals(List.of(MessageType.EXEC_STARTED, MessageType.EXEC_EXITED), out.types());
        assertEquals(0, ((io.agentd.protocol.payload.ExecExited) out.frames.get(1).payload()).code());
        assertTrue(spawnsNow.isEmpty());
    }

    /**
     * A sweep never overlaps a spawn (whose child the sweep could not yet tell from an orphan), and
     * a child is kept for its registration only until then: after it, an exit of its pid is an
     * orphan's (the pid may be anyone's).
     */
    @Test
    void aSweepWaitsForASpawnOnItsWayAndANewChildIsNamedUntilRegistered() throws Exception {
        NewChildren children = new NewChildren();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch goOn = new CountDownLatch(1);
        Sessions.Starter starting = children.starting((spec, cgroupFd) -> {
            inside.countDown();
            try {
                goOn.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return new Child(100, 13, 10, 11, 12, false);
        });
        Thread spawner = new Thread(() -> {
            try {
                starting.start(null, -1);
            } catch (SpawnFailure e) {
                throw new AssertionError(e);
            }
        });
        spawner.start();
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        assertFalse(children.sweepBegins(), "no sweep while the spawn is on its way");
        goOn.countDown();
        spawner.join(10_000);
        assertTrue(children.sweepBegins());
        children.sweepEnds();

        assertTrue(children.keptForRegistration(100, 7), "the new child's exit is kept");
        assertEquals(7, children.registered(100));
        assertFalse(children.keptForRegistration(100, 9), "registered: an exit of its pid now is an orphan's");
        assertEquals(null, children.registered(100));
    }

    /**
     * A lone host's request while nothing runs is spawned on the loop (nobody else waits for it, and
     * the hand-over costs every command latency and CPU); one while a session runs goes to the
     * spawner thread, and so does one of a host that is not alone.
     */
    @Test
    void aLoneHostsRequestWhileNothingRunsIsSpawnedOnTheLoop() {
        boolean[] alone = {true};
        Sessions inlineFirst = new Sessions(loop, (spec, cgroupFd) -> new Child(100, 13, 10, 11, 12, false),
                (starter, spec, cgroupFd, outcome) -> inFlight.add(outcome), new SessionDefaults(null, null,
                        List.of(), Profile.DEFAULT, 250, 2000, 1024, 4096, 512), io);
        inlineFirst.spawnOnTheLoopWhenAlone(() -> alone[0]);
        inlineFirst.onExecRequest(host, 5, ExecRequest.of("sleep", "60"), answered::incrementAndGet);
        assertEquals(1, answered.get(), "answered before the call returned");
        assertEquals(List.of(), inFlight, "the spawner thread was not asked");

        inlineFirst.onExecRequest(host, 6, ExecRequest.of("sleep", "60"), answered::incrementAndGet);
        assertEquals(1, inFlight.size(), "a session runs: to the spawner thread");
        inFlight.get(0).spawned(new Child(101, 23, 20, 21, 22, false), null, null);
        assertEquals(2, answered.get());
    }

    @Test
    void aRequestOfAHostThatIsNotAloneGoesToTheSpawnerThreadEvenWhenNothingRuns() {
        Sessions notAlone = new Sessions(loop, (spec, cgroupFd) -> new Child(100, 13, 10, 11, 12, false),
                (starter, spec, cgroupFd, outcome) -> inFlight.add(outcome), new SessionDefaults(null, null,
                        List.of(), Profile.DEFAULT, 250, 2000, 1024, 4096, 512), io);
        notAlone.spawnOnTheLoopWhenAlone(() -> false);
        notAlone.onExecRequest(host, 5, ExecRequest.of("sleep", "60"), answered::incrementAndGet);
        assertEquals(0, answered.get());
        assertEquals(1, inFlight.size());
    }

    /** A starter that throws is answered failed (other), as it was when the spawn ran on the loop. */
    @Test
    void aSpawnThatThrewIsAnsweredFailed() {
        request(5);
        inFlight.get(0).spawned(null, null, new IllegalStateException("a bug"));
        assertEquals(List.of(MessageType.EXEC_FAILED), out.types());
        assertEquals("other", ((ExecFailed) out.frames.get(0).payload()).kind());
        assertEquals(1, answered.get());
        assertTrue(sessions.isEmpty());
    }

    /** The real runner: the starter runs on the spawner thread, the outcome where the executor puts it. */
    @Test
    void theSpawnerThreadSpawnsAndHandsTheOutcomeToTheLoop() throws Exception {
        Thread caller = Thread.currentThread();
        AtomicReference<Thread> spawnedOn = new AtomicReference<>();
        AtomicReference<Thread> outcomeOn = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(2);
        Child child = new Child(100, 13, 10, 11, 12, false);
        OffLoopSpawns spawns = new OffLoopSpawns(task -> new Thread(task, "test-loop").start());
        for (int i = 0; i < 2; i++) {
            spawns.spawn((spec, cgroupFd) -> {
                spawnedOn.set(Thread.currentThread());
                return child;
            }, null, -1, (c, failure, bug) -> {
                outcomeOn.set(Thread.currentThread());
                assertEquals(child, c);
                done.countDown();
            });
        }
        assertTrue(done.await(10, TimeUnit.SECONDS));
        assertEquals("spawner", spawnedOn.get().getName());
        assertNotEquals(caller, spawnedOn.get());
        assertEquals("test-loop", outcomeOn.get().getName());
    }
}
