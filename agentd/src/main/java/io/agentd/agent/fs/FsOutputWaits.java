package io.agentd.agent.fs;

import io.agentd.agent.transport.HostOutput;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.LongPredicate;

/**
 * One connection's fs requests that wait for its output, loop thread only: the Reads paused above
 * its high-water mark or while the relay holds their id, and the List and ReadDir requests waiting
 * to start, which also wait for room in the agent's {@link FsAnswerGate}. Both go on when the output
 * resumes ({@link FsService#onOutputResumed}); the gate asks again when it has room.
 */
final class FsOutputWaits {
    private final HostOutput out;
    /** Ids whose output the relay asked to hold (their Reads wait): the connection's HeldIds. */
    private final LongPredicate heldIds;
    private final FsAnswerGate answerGate;
    private final List<FsReadStream> paused = new ArrayList<>();
    /** List and ReadDir requests waiting to start (see {@link FsAnswerGate}), in order. */
    private final ArrayDeque<FsSimpleRequest> waitingAnswers = new ArrayDeque<>();

    FsOutputWaits(HostOutput out, LongPredicate heldIds, FsAnswerGate answerGate) {
        this.out = out;
        this.heldIds = heldIds;
        this.answerGate = answerGate;
    }

    /**
     * Whether a Read on {@code id} may queue more data now: the output is under its high-water mark
     * and the relay has not asked to hold that id's output ({@link io.agentd.agent.transport.HeldIds}).
     */
    boolean takesOutputOf(long id) {
        return out.acceptsOutput() && !heldIds.test(id);
    }

    /** A Read with chunks ready that the output does not take now: it goes on at {@link #resume}. */
    void pause(FsReadStream stream) {
        paused.add(stream);
    }

    /** A List or ReadDir: it starts in its turn, once the output and the gate have room. */
    void startInTurn(FsSimpleRequest simple) {
        waitingAnswers.add(simple);
        startWaitingAnswers();
    }

    /**
     * Starts the List and ReadDir requests that may start now, in order: only while this
     * connection's output is under its high-water mark, each with room in the agent's
     * {@link FsAnswerGate} (which calls this again when it has room); one whose id the relay holds
     * waits for its release ({@link #resume}).
     */
    void startWaitingAnswers() {
        Iterator<FsSimpleRequest> it = waitingAnswers.iterator();
        while (it.hasNext() && out.acceptsOutput()) {
            FsSimpleRequest simple = it.next();
            if (simple.aborted()) {
                it.remove();
            } else if (!heldIds.test(simple.id())) {
                if (!answerGate.tryStart(this)) {
                    return;
                }
                it.remove();
                simple.startGated();
            }
        }
    }

    /**
     * A List or ReadDir that {@link #startWaitingAnswers} started was answered or dropped: its room
     * in the gate comes back.
     */
    void answerDone() {
        answerGate.done();
    }

    /**
     * The output went below its low-water mark, or the relay released held ids: waiting requests
     * start and paused Reads go on (one still held pauses again at once).
     */
    void resume() {
        startWaitingAnswers();
        if (paused.isEmpty()) {
            return;
        }
        List<FsReadStream> resumed = new ArrayList<>(paused);
        paused.clear();
        for (FsReadStream stream : resumed) {
            stream.next();
        }
    }

    /** The requests on {@code ids} were stopped: none of them waits here any more. */
    void forget(LongPredicate ids) {
        paused.removeIf(stream -> ids.test(stream.id));
        waitingAnswers.removeIf(FsSimpleRequest::aborted);
    }

    /** The connection's host left: this connection waits for the gate's room no more. */
    void leaveGate() {
        answerGate.forget(this);
    }
}
