package io.agentd.client;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import java.util.concurrent.CompletableFuture;

/** A request answered by one terminal frame (ping, touch, raw calls); core.error fails it. */
final class PendingCall implements Receiver {
    final long id;
    final CompletableFuture<Frame> reply = new CompletableFuture<>();

    PendingCall(long id) {
        this.id = id;
    }

    @Override
    public boolean onFrame(Frame frame) {
        if (frame.type() == MessageType.CORE_ERROR) {
            reply.completeExceptionally(new AgentErrorException((ErrorPayload) frame.payload()));
        } else if (frame.isTerminal()) {
            reply.complete(frame);
        }
        // Non-terminal frames (a raw exec.request's started/output) are not what the caller waits for.
        return frame.isTerminal();
    }

    @Override
    public void onAbort(AgentException cause) {
        reply.completeExceptionally(cause);
    }
}
