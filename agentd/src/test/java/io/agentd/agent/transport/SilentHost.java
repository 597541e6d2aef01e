package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import io.agentd.protocol.Frame;
import io.agentd.protocol.ProtocolException;
import java.util.function.Consumer;

/** A link's listener for a host that says nothing, so needs no answer: every event is ignored. */
final class SilentHost implements PortLink.Listener {
    /** A connection's endpoint whose link serves such a host on {@code loop}; {@code onLost} hears hostLost(over). */
    static HostEndpoint endpoint(Loop loop, Consumer<Boolean> onLost) {
        PortLink link = new PortLink(loop, 1 << 20, 0);
        link.setListener(new SilentHost());
        return new HostEndpoint() {
            @Override
            public PortLink link() {
                return link;
            }

            @Override
            public void hostLost(boolean over) {
                onLost.accept(over);
            }
        };
    }

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
