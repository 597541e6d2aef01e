package io.agentd.agent.session;

import java.nio.ByteBuffer;

/**
 * What a {@link Session} sees of whoever runs it ({@link Sessions}): the budgets it draws on, and
 * where it says "my leader may have exited" and "I am done" (where its frames go is its own
 * {@link SessionRoute}). Nothing else, so a session can be driven alone in a test.
 */
interface SessionOwner {
    SessionDefaults defaults();

    /** The stdin bytes queued or granted over all sessions. */
    StdinBudget stdinBudget();

    /** Enlarged output pipes over all sessions. */
    BulkPipes bulkPipes();

    /** When a bulk writer's pipe is read too early (one per loop: its waits are loop-wide). */
    BulkCoalescing bulkCoalescing();

    /** One read buffer (direct) shared by all sessions: they read one at a time on the loop thread. */
    ByteBuffer readBuffer();

    /** The session stopped reading its output (its host is past the high-water mark, or it has none). */
    void outputPaused(Session s);

    /** The leader's pidfd is readable: reap it, and tell the session with {@link Session#onLeaderExit}. */
    void leaderExitReadable(Session s);

    /** The session sent its terminal frame (exited: true; abandoned: never called). */
    void finished(Session s);
}
