package io.agentd.agent.transport;

import io.agentd.protocol.Frame;
import io.agentd.protocol.ProtocolException;

/** A link's listener for a host that says nothing, so needs no answer: every event is ignored. */
final class SilentHost implements PortLink.Listener {
    @Override
    public void onConnected() {
    }

    @Override
    public void onFrame(Frame frame) {
    }

    @Override
    public void onProtocolError(ProtocolException e) {
    }

    @Override
    public void onOutputResumed() {
    }

    @Override
    public void onFlushed() {
    }
}
