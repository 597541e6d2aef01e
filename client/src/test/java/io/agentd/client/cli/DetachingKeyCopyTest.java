package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.AgentClient;
import io.agentd.client.ExecSession;
import io.agentd.client.ScriptedPeer;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The keys of an -it session with detach keys, typed into a pipe (surefire's stdin is no terminal)
 * and copied by {@link DetachingKeyCopy} into a real session on a client whose agent is scripted.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DetachingKeyCopyTest {
    private static final byte P = 0x10;
    private static final byte Q = 0x11;

    /**
     * A detach the agent refuses leaves the session attached with its keys still going to it: the
     * keys typed after the sequence, in the same read and later, reach the command, one line says
     * why the detach failed, the sequence typed again asks the agent again, and the copy ends only
     * at the end of the keys.
     */
    @Test
    void aRefusedDetachSaysWhyOnceAndTheKeysGoOnToTheSession(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
        Pipe typed = Pipe.open();
        try (ScriptedPeer agent = new ScriptedPeer(dir);
                AgentClient client = agent.connect(Ready.FEATURE_SESSIONS, Ready.FEATURE_SESSION_DETACH)) {
            ExecSession session = client.start(ExecRequest.of("/bin/sh"));
            long id = agent.receive().id();
            agent.send(new Frame(id, MessageType.EXEC_STARTED, new ExecStarted(77, null)));
            DetachingKeyCopy copy = StdinPump.keyCopy(typed.source()::read, session,
                    DetachKeys.of(DetachKeys.DEFAULT), err);
            CompletableFuture<Boolean> copied = CompletableFuture.supplyAsync(() -> {
                try {
                    return copy.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            type(typed, 'a', P, Q, 'b');
            assertEquals(stdin(id, "a"), agent.receive());
            assertEquals(new Frame(id, MessageType.SESSION_DETACH, Empty.INSTANCE), agent.receive());
            agent.send(new Frame(id, MessageType.CORE_ERROR, new ErrorPayload("invalid_session",
                    "session " + id + " cannot be detached", MessageType.SESSION_DETACH.wire())));
            assertEquals(stdin(id, "b"), agent.receive(), "the key typed after the refused sequence");
            type(typed, 'c');
            assertEquals(stdin(id, "c"), agent.receive(), "a key typed once the detach was refused");
            assertFalse(copied.isDone(), "still reading keys");
            assertFalse(session.isDone(), "still attached");

            String said = errBytes.toString(StandardCharsets.UTF_8);
            assertEquals(1, said.strip().lines().count(), said);
            assertTrue(said.contains("cannot detach") && said.contains("cannot be detached")
                    && said.contains("still attached"), said);

            // The sequence again asks the agent again (the refusal may have been for the moment).
            type(typed, P, Q);
            assertEquals(new Frame(id, MessageType.SESSION_DETACH, Empty.INSTANCE), agent.receive(),
                    "a second detach after a refusal is sent to the agent");
            agent.send(new Frame(id, MessageType.CORE_ERROR, new ErrorPayload("invalid_session",
                    "session " + id + " cannot be detached", MessageType.SESSION_DETACH.wire())));
            type(typed, 'd');
            assertEquals(stdin(id, "d"), agent.receive(), "a key typed once the second detach was refused");

            typed.sink().close();
            assertTrue(copied.get(20, TimeUnit.SECONDS), "the end of the keys ends the session's input");
            agent.send(new Frame(id, MessageType.EXEC_EXITED, new ExecExited(0, null, null)));
            assertEquals(0, session.awaitExit(Duration.ofSeconds(20)).code());
        }
    }

    private static void type(Pipe pipe, int... keys) throws Exception {
        byte[] bytes = new byte[keys.length];
        for (int k = 0; k < keys.length; k++) {
            bytes[k] = (byte) keys[k];
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            pipe.sink().write(b);
        }
    }

    private static Frame stdin(long id, String keys) {
        return new Frame(id, MessageType.EXEC_STDIN, new ExecData(keys.getBytes(StandardCharsets.US_ASCII)));
    }
}
