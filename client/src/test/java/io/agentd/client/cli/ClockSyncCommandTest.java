package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ClockSync;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code agentctl clock-sync}: this host's time to the agent (core.clock.sync on id 0), taken once
 * the ping after it is answered: one line, 0; refused by a relay in front, 126 and why; no answer,
 * 125. agentctl runs in-process against a scripted agent.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClockSyncCommandTest {
    private static Path sub(Path dir, String name) throws Exception {
        return Files.createDirectory(dir.resolve(name));
    }

    @Test
    void theHostsTimeIsSentAndTakenWithALine(@TempDir Path dir) throws Exception {
        long before = ClockSync.hostNow().unixTimeNanos();
        long[] sent = new long[1];
        ScriptedAgentctl.Run r = ScriptedAgentctl.run(dir, List.of(), agent -> {
            Frame sync = agent.receive();
            assertEquals(MessageType.CORE_CLOCK_SYNC, sync.type(), sync.toString());
            assertEquals(0, sync.id());
            sent[0] = ((ClockSync) sync.payload()).unixTimeNanos();
            Frame ping = agent.receive();
            assertEquals(MessageType.CORE_PING, ping.type(), ping.toString());
            agent.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
        }, "clock-sync");
        assertEquals(0, r.code(), r.toString());
        assertTrue(sent[0] >= before && sent[0] <= ClockSync.hostNow().unixTimeNanos(), "the host's time: " + sent[0]);
        assertTrue(r.out().startsWith("clock-sync: the agent at ") && r.out().contains("took this host's time (round trip"),
                r.out());
        assertEquals(1, r.out().lines().count(), r.out());
        assertEquals("", r.err());
    }

    @Test
    void aRefusalExits126WithItsReason(@TempDir Path dir) throws Exception {
        ScriptedAgentctl.Run r = ScriptedAgentctl.run(dir, List.of(), agent -> {
            assertEquals(MessageType.CORE_CLOCK_SYNC, agent.receive().type());
            Frame ping = agent.receive();
            agent.send(new Frame(0, MessageType.CORE_ERROR, new ErrorPayload(ErrorKind.INVALID_SESSION.wire(),
                    "on id 0 the relay takes only core.shutdown", MessageType.CORE_CLOCK_SYNC.wire())));
            agent.send(new Frame(ping.id(), MessageType.CORE_PONG, Empty.INSTANCE));
        }, "clock-sync");
        assertEquals(126, r.code(), r.toString());
        assertEquals("", r.out());
        assertEquals("agentctl: clock-sync: agent refused core.clock.sync: invalid_session: on id 0 the relay takes"
                + " only core.shutdown\n", r.err());
    }

    @Test
    void noAnswerWithinTheTimeoutExits125(@TempDir Path dir) throws Exception {
        ScriptedAgentctl.Run r = ScriptedAgentctl.run(sub(dir, "a"), List.of(), agent -> {
            assertEquals(MessageType.CORE_CLOCK_SYNC, agent.receive().type());
            assertEquals(MessageType.CORE_PING, agent.receive().type());
        }, "clock-sync", "--timeout", "300ms");
        assertEquals(125, r.code(), r.toString());
        assertTrue(r.err().startsWith("agentctl: clock-sync: no core.pong"), r.err());
    }

    @Test
    void itsHelpAndItsUsageErrors() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, run(out, err, "clock-sync", "--help"));
        String help = out.toString(StandardCharsets.UTF_8);
        assertTrue(help.startsWith("usage: agentctl [-s ADDRESS] clock-sync [--timeout DURATION]\n"), help);
        assertTrue(help.contains("more than 100 ms") && help.contains("exit status: 126"), help);
        out.reset();
        assertEquals(0, run(out, err, "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("  clock-sync [--timeout DURATION]"), out.toString());
        assertEquals(2, run(out, err, "clock-sync", "now"));
        assertEquals(2, run(out, err, "clock-sync", "--timeout", "soon"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("Try 'agentctl clock-sync --help'"), err.toString());
    }

    private static int run(ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
        return Agentctl.run(Arrays.asList(args), "/nonexistent/agentd.sock", new PrintStream(out, true,
                StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }
}
