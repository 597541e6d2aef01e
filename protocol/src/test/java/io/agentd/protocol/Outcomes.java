package io.agentd.protocol;

import java.util.ArrayList;
import java.util.List;

/** What a decoder gives, in order, as comparable values: each Frame, or "refused <kind> <id>". */
final class Outcomes {
    private Outcomes() {}

    /** Takes every result the decoder holds. */
    static List<Object> drain(FrameDecoder decoder) {
        List<Object> outcomes = new ArrayList<>();
        while (true) {
            try {
                Frame frame = decoder.next();
                if (frame == null) {
                    return outcomes;
                }
                outcomes.add(frame);
            } catch (ProtocolException e) {
                outcomes.add(refused(e.kind(), e.id()));
            }
        }
    }

    static String refused(ErrorKind kind, long id) {
        return "refused " + kind.wire() + " " + id;
    }
}
