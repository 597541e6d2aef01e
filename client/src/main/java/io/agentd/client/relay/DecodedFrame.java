package io.agentd.client.relay;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.ProtocolException;

/**
 * One of the few frames the relay decodes (small ones on id 0), decoded once: the frame, or null
 * when the decoder refused it, with the type it had read by then (the refusal names it) if any.
 */
record DecodedFrame(Frame frame, String type) {

    static DecodedFrame of(byte[] bytes) {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(bytes, 0, bytes.length);
        try {
            Frame frame = decoder.next();
            return new DecodedFrame(frame, frame == null ? null : frame.type().wire());
        } catch (ProtocolException e) {
            return new DecodedFrame(null, e.type());
        }
    }
}
