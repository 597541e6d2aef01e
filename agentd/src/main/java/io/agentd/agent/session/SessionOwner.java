package io.agentd.agent.session;

import io.agentd.agent.transport.HostOutput;
import java.nio.ByteBuffer;

/**
 * What a {@link Session} sees of whoever runs it ({@link Sessions}): where its frames go, the
 * budgets it draws on, and where it says "my leader may have exited" and "I am done". Nothing else,
 * so a session can be driven alone in a test.
 */
interface SessionOwner {
    /** Where the session's frames go. */
    HostOutput host();

    SessionDefaults defaults();

    /** The stdin bytes queued or granted over all sessions. */
    StdinBudget stdinBudget();

    /** Enlarged output pipes over all sessions. */
    BulkPipes bulkPipes();

    /** One read buffer (direct) shared by all sessions: they read one at a time on the loop thread. */
    ByteBuffer readBuffer();

    /** The session stopped reading its output (the host is past the high-water mark). */
    void outputPaused(Session s);

    /** The leader's pidfd is readable: reap it, and tell the session with {@link Session#onLeaderExit}. */
    void leaderExitReadable(Session s);

    /** The session sent its terminal frame (exited: true; abandoned: never called). */
    void finished(Session s);
}
