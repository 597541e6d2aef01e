package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.SessionsE2ETest.attachToEnd;
import static io.agentd.agent.e2e.SessionsE2ETest.find;
import static io.agentd.agent.e2e.SessionsE2ETest.list;
import static io.agentd.agent.e2e.SessionsE2ETest.startDetached;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionAttach;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * core.relay.exit.dropped (docs/PROTOCOL-EXTENSIONS.md, "Exits a relay dropped"): a relay whose
 * client left as a detachable session's exit came dropped that exit, which the agent had taken as
 * delivered and collected; the next host's attach found the session gone, its status lost. Here the
 * host sends the notice itself, as the relay would on that id, against a running agent.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayExitDroppedE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("exit-dropped");

    @Test
    void readyListsTheFeature() throws Exception {
        try (HostConnection host = agent.process().connect()) {
            assertTrue(((Ready) host.expect(0, MessageType.CORE_READY).payload())
                    .supports(Ready.FEATURE_RELAY_EXIT_DROPPED));
        }
    }

    @Test
    void aDroppedExitIsHeldForTheNextHostsAttach() throws Exception {
        long number;
        try (HostConnection relay = agent.process().connectReady()) {
            number = startDetached(relay, 135, ExecRequest.of("sh", "-c", "echo out; exit 7"));
            assertEquals(7, relay.collect(135, HostConnection.TIMEOUT).code());
            assertNull(find(list(relay, 1), number), "collected: its exit was delivered");

            relay.send(new Frame(135, MessageType.CORE_RELAY_EXIT_DROPPED, Empty.INSTANCE));
            assertTrue(find(list(relay, 2), number) != null, "listed again, its exit held");
        }
        try (HostConnection next = agent.process().connectReady()) {
            SessionsE2ETest.Attach a = attachToEnd(next, 9, number, 0L);
            assertEquals(7, a.exited().code());
            assertEquals(a.attached().from(), a.attached().missed(),
                    "the output it kept went with its collection: counted as missed, not replayed twice");
            next.send(new Frame(10, MessageType.SESSION_ATTACH, new SessionAttach(number, null, false)));
            ErrorPayload e = next.expectError(10, "invalid_session");
            assertTrue(e.message().contains("already collected"), e.message());
        }
    }

    /** An exit delivered by an attach (the session had exited while hostless) is open to the notice too. */
    @Test
    void anExitDeliveredByAnAttachCanBeHeldAgain() throws Exception {
        long number;
        try (HostConnection host = agent.process().connectReady()) {
            host.exec(140, ExecRequest.of("sh", "-c", "exit 3").withDetachable(true).withStartDetached(true));
            number = ((io.agentd.protocol.payload.ExecStarted) host.expect(140, MessageType.EXEC_STARTED).payload())
                    .session();
        }
        try (HostConnection relay = agent.process().connectReady()) {
            assertEquals(3, attachToEnd(relay, 141, number, null).exited().code());
            relay.send(new Frame(141, MessageType.CORE_RELAY_EXIT_DROPPED, Empty.INSTANCE));
            assertTrue(find(list(relay, 1), number) != null, "listed again, its exit held");
        }
        try (HostConnection next = agent.process().connectReady()) {
            assertEquals(3, attachToEnd(next, 9, number, null).exited().code());
        }
    }

    /**
     * Once something else took the id (here a new session that exited there), an earlier exit on it
     * is past the notice's reach: the notice would otherwise bring back an exit that was delivered,
     * and file the new session's leftovers under the old one.
     */
    @Test
    void anExitOnAnIdTakenAgainSinceIsNotBroughtBack() throws Exception {
        try (HostConnection relay = agent.process().connectReady()) {
            long number = startDetached(relay, 150, ExecRequest.of("sh", "-c", "exit 5"));
            assertEquals(5, relay.collect(150, HostConnection.TIMEOUT).code());
            relay.exec(150, ExecRequest.of("true")); // the same id, a session that dies with its host
            assertEquals(0, relay.collect(150, HostConnection.TIMEOUT).code());
            relay.send(new Frame(150, MessageType.CORE_RELAY_EXIT_DROPPED, Empty.INSTANCE));
            assertNull(find(list(relay, 1), number), "the first exit stays collected");
        }
    }

    /** Only a session that would have outlived its host: a plain one under the kill policy stays collected. */
    @Test
    void aSessionThatDiesWithItsHostIsNotHeldAgain() throws Exception {
        try (HostConnection relay = agent.process().connectReady()) {
            relay.exec(136, ExecRequest.of("true"));
            assertEquals(0, relay.collect(136, HostConnection.TIMEOUT).code());
            int before = list(relay, 1).size();
            relay.send(new Frame(136, MessageType.CORE_RELAY_EXIT_DROPPED, Empty.INSTANCE));
            relay.send(new Frame(137, MessageType.CORE_RELAY_EXIT_DROPPED, Empty.INSTANCE)); // no session ever
            assertEquals(before, list(relay, 2).size(), "nothing listed again, and no answer on either id");
        }
    }
}
