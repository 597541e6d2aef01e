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
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * An agent whose port connection writes into a pipe, for tests that hand the connection frames and
 * codec refusals directly: the test's steps run on the agent's loop, which runs for a while, and the
 * frames the agent wrote are read back decoded.
 */
final class PipePortAgent {
    private PipePortAgent() {}

    /**
     * @param servesFs   the connection serves the fs family (on one worker)
     * @param runMillis  how long the loop runs after the steps were queued
     * @param steps      run on the loop thread with the connection and the sessions
     * @return every frame the agent wrote, its core.ready first
     */
    static List<Frame> run(boolean servesFs, long runMillis, BiConsumer<Connection, Sessions> steps) throws Exception {
        int[] pipe = new int[2];
        assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        FsWorkers workers = servesFs ? new FsWorkers(1) : null;
        try {
            try (EventLoop loop = new EventLoop()) {
                Sessions sessions = new Sessions(loop, Spawner.fromSystemProperty(), AgentOptions.parse().sessionDefaults());
                Agent agent = new Agent(loop, sessions, new Agent.StartTimes(1, 2), "test",
                        new Agent.LinkSettings(1 << 20, 0, 0), 1);
                if (workers != null) {
                    agent.serveFs(workers, FsSettings.DEFAULTS, loop::execute);
                }
                Connection connection = (Connection) agent.openPort("pipe", HostLossPolicy.KILL_SESSIONS);
                PortLink link = connection.link();
                link.attach(pipe[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, wasConnected -> { });
                loop.execute(() -> steps.accept(connection, sessions));
                loop.schedule(runMillis, loop::stop);
                loop.run();
            }
            return framesIn(pipe[0]);
        } finally {
            if (workers != null) {
                workers.shutdown();
            }
            Os.close(pipe[0]);
            Os.close(pipe[1]);
        }
    }

    private static List<Frame> framesIn(int fd) throws Exception {
        FrameDecoder decoder = new FrameDecoder();
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        while (Os.read(fd, buf.clear()) > 0) {
            decoder.feed(buf.flip());
        }
        List<Frame> frames = new ArrayList<>();
        Frame f;
        while ((f = decoder.next()) != null) {
            frames.add(f);
        }
        return frames;
    }
}
