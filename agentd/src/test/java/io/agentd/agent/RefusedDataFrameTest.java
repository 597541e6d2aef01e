package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.agent.fs.FsSettings;
import io.agentd.agent.fs.FsWorkers;
import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.session.Sessions;
import io.agentd.agent.spawn.Spawner;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.transport.HostLossPolicy;
import io.agentd.agent.transport.PortLink;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ExecData;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A data frame the codec refused reaches what it belonged to, with the codec's refusal handed to the
 * connection directly: after a core.fs.request, the data the host sends is dropped quietly, as for
 * any refused Write, instead of one core.error per chunk on an id the host was already told is over;
 * after a core.exec.stdin, the session's later stdin is refused (stdin is a prefix). The agent's
 * frames go to a pipe and are decoded here.
 */
class RefusedDataFrameTest {
    @Test
    void theDataAfterAnFsRequestTheCodecRefusedIsDroppedQuietly() throws Exception {
        int[] pipe = new int[2];
        assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        FsWorkers workers = new FsWorkers(1);
        try (EventLoop loop = new EventLoop()) {
            Sessions sessions = new Sessions(loop, Spawner.fromSystemProperty(), AgentOptions.parse().sessionDefaults());
            Agent agent = new Agent(loop, sessions, new Agent.StartTimes(1, 2), "test",
                    new Agent.LinkSettings(1 << 20, 0, 0), 1);
            agent.serveFs(workers, FsSettings.DEFAULTS, loop::execute);
            Connection connection = (Connection) agent.openPort("pipe", HostLossPolicy.KILL_SESSIONS);
            PortLink link = connection.link();
            link.attach(pipe[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, wasConnected -> { });
            loop.execute(() -> {
                connection.onProtocolError(new ProtocolException(ErrorKind.INVALID_PAYLOAD, 5,
                        MessageType.FS_REQUEST.wire(), "user: more than 512 bytes"));
                connection.onFrame(new Frame(5, MessageType.FS_DATA, new ExecData(new byte[10])));
                connection.onFrame(new Frame(5, MessageType.FS_DATA, new ExecData(new byte[0])));
            });
            loop.schedule(300, loop::stop);
            loop.run();
        } finally {
            workers.shutdown();
        }
        List<Frame> frames = OverLimitRequestTest.framesIn(pipe[0]);
        Os.close(pipe[0]);
        Os.close(pipe[1]);
        assertEquals(List.of(MessageType.CORE_READY, MessageType.CORE_ERROR),
                frames.stream().map(Frame::type).toList(), frames.toString());
        assertEquals(5, frames.get(1).id());
    }

    @Test
    void afterAStdinFrameTheCodecRefusedTheSessionsLaterStdinIsRefused() throws Exception {
        int[] pipe = new int[2];
        assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        try (EventLoop loop = new EventLoop()) {
            Sessions sessions = new Sessions(loop, Spawner.fromSystemProperty(), AgentOptions.parse().sessionDefaults());
            Agent agent = new Agent(loop, sessions, new Agent.StartTimes(1, 2), "test",
                    new Agent.LinkSettings(1 << 20, 0, 0), 1);
            Connection connection = (Connection) agent.openPort("pipe", HostLossPolicy.KILL_SESSIONS);
            PortLink link = connection.link();
            link.attach(pipe[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, wasConnected -> { });
            loop.execute(() -> {
                sessions.onExecRequest(connection.sessionHost(), 7, io.agentd.protocol.payload.ExecRequest.of("sleep", "30"));
                connection.onProtocolError(new ProtocolException(ErrorKind.INVALID_FLAGS, 7,
                        MessageType.EXEC_STDIN.wire(), "flags 2 on core.exec.stdin"));
                connection.onFrame(new Frame(7, MessageType.EXEC_STDIN, new ExecData("after".getBytes())));
                sessions.killOwned(connection.number(), id -> true);
            });
            loop.schedule(300, loop::stop);
            loop.run();
        }
        List<Frame> frames = OverLimitRequestTest.framesIn(pipe[0]);
        Os.close(pipe[0]);
        Os.close(pipe[1]);
        assertEquals(List.of(MessageType.CORE_READY, MessageType.EXEC_STARTED, MessageType.CORE_ERROR,
                MessageType.EXEC_STDIN_ERROR), frames.stream().map(Frame::type).toList(), frames.toString());
        assertEquals(LibC.EINVAL, ((io.agentd.protocol.payload.ExecStdinError) frames.get(3).payload()).errno());
    }
}
