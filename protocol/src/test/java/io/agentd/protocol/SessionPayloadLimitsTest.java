package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import org.junit.jupiter.api.Test;

/**
 * The sessions extension's payloads decode within bounds: a list result's arrays are refused from
 * their heads when over the limit, and the optional fields take their defaults.
 */
class SessionPayloadLimitsTest {
    private static final long ID = 9;

    private static ProtocolException refused(MessageType type, RawCbor p) {
        FrameDecoder decoder = new FrameDecoder();
        byte[] frame = RawCbor.frame(ID, type, p.build());
        decoder.feed(frame, 0, frame.length);
        return assertThrows(ProtocolException.class, decoder::next);
    }

    private static Frame decoded(MessageType type, RawCbor p) throws ProtocolException {
        FrameDecoder decoder = new FrameDecoder();
        byte[] frame = RawCbor.frame(ID, type, p.build());
        decoder.feed(frame, 0, frame.length);
        return decoder.next();
    }

    @Test
    void aListOfMoreSessionsThanTheLimitIsRefusedFromItsHead() {
        ProtocolException e = refused(MessageType.SESSION_LIST_RESULT,
                new RawCbor().map(1).text("sessions").array(2_000_000));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        assertTrue(e.getMessage().contains("sessions: 2000000 entries, more than the limit of 65536"), e.getMessage());
    }

    @Test
    void aSessionWithMoreArgsThanTheExecLimitIsRefused() {
        ProtocolException e = refused(MessageType.SESSION_LIST_RESULT, new RawCbor().map(1).text("sessions").array(1)
                .map(1).text("args").array(ExecLimits.ARGS_MAX_ENTRIES + 1));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        assertTrue(e.getMessage().contains("sessions[0].args: 32769 entries"), e.getMessage());
    }

    /** Jackson refuses a head of 2^31 entries or more itself, in its words: the limit is read from the head first. */
    @Test
    void aDeclaredCountPastIntRangeIsRefusedAsOverTheLimit() {
        ProtocolException sessions = refused(MessageType.SESSION_LIST_RESULT,
                new RawCbor().map(1).text("sessions").head(4, 1L << 32));
        assertEquals(ErrorKind.INVALID_PAYLOAD, sessions.kind());
        assertTrue(sessions.getMessage().contains("sessions: 4294967296 entries, more than the limit of 65536"),
                sessions.getMessage());
        ProtocolException args = refused(MessageType.SESSION_LIST_RESULT, new RawCbor().map(1).text("sessions").array(1)
                .map(1).text("args").head(4, 1L << 31));
        assertEquals(ErrorKind.INVALID_PAYLOAD, args.kind());
        assertTrue(args.getMessage().contains("sessions[0].args: 2147483648 entries, more than the limit of 32768"),
                args.getMessage());
    }

    @Test
    void aSessionWithoutItsRequiredFieldsIsRefusedNamingTheField() {
        ProtocolException e = refused(MessageType.SESSION_LIST_RESULT,
                new RawCbor().map(1).text("sessions").array(1).map(1).text("session").uint(3));
        assertTrue(e.getMessage().contains("missing field sessions[0].pid"), e.getMessage());
    }

    /** omitted (the sessions a list too long for one frame left out): 0 when absent, a u64 below 2^63 when there. */
    @Test
    void aListsOmittedDefaultsToZeroAndAWrongOneIsRefused() throws ProtocolException {
        Frame whole = decoded(MessageType.SESSION_LIST_RESULT, new RawCbor().map(1).text("sessions").array(0));
        assertEquals(0, ((io.agentd.protocol.payload.SessionListResult) whole.payload()).omitted());
        Frame cut = decoded(MessageType.SESSION_LIST_RESULT,
                new RawCbor().map(2).text("sessions").array(0).text("omitted").uint(2199));
        assertEquals(2199, ((io.agentd.protocol.payload.SessionListResult) cut.payload()).omitted());

        ProtocolException text = refused(MessageType.SESSION_LIST_RESULT,
                new RawCbor().map(2).text("sessions").array(0).text("omitted").text("many"));
        assertEquals(ErrorKind.INVALID_PAYLOAD, text.kind());
        assertTrue(text.getMessage().contains("omitted"), text.getMessage());
        ProtocolException huge = refused(MessageType.SESSION_LIST_RESULT,
                new RawCbor().map(2).text("sessions").array(0).text("omitted").uint(-1L));
        assertEquals(ErrorKind.INVALID_PAYLOAD, huge.kind());
        assertTrue(huge.getMessage().contains("omitted 18446744073709551615 is past 2^63-1"), huge.getMessage());
    }

    @Test
    void attachDefaultsFromAndStdinWindowWhenAbsent() throws ProtocolException {
        Frame f = decoded(MessageType.SESSION_ATTACH, new RawCbor().map(1).text("session").uint(12));
        assertEquals(new SessionAttach(12, null, false), f.payload());
    }

    @Test
    void attachWithoutSessionIsRefused() {
        ProtocolException e = refused(MessageType.SESSION_ATTACH, new RawCbor().map(1).text("from").uint(0));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        assertTrue(e.getMessage().contains("missing field session"), e.getMessage());
    }

    @Test
    void attachedMissedDefaultsToZero() throws ProtocolException {
        Frame f = decoded(MessageType.SESSION_ATTACHED, new RawCbor().map(4).text("session").uint(1).text("pid").uint(2)
                .text("tty").bool(true).text("from").uint(5));
        assertEquals(new SessionAttached(1, 2, true, 5, 0), f.payload());
    }
}
