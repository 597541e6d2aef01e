package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.lang.management.ManagementFactory;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The request limits (docs/PROTOCOL-EXTENSIONS.md) are enforced while a core.exec.request is decoded:
 * an oversized request is refused with limit_exceeded, naming the limit, before its strings are built.
 */
class ExecLimitsTest {
    private static final long ID = 7;
    /** Bytes a one-byte string costs against ARG_MAX: the byte, its NUL, its pointer. */
    private static final int ONE_CHAR_COST = 1 + 1 + 8;

    @Test
    void twoMillionOneCharArgsAreRefusedWithoutBuildingThem() {
        RawCbor p = new RawCbor().map(2).text("cmd").text("/bin/true").text("args").array(2_000_000);
        for (int i = 0; i < 2_000_000; i++) {
            p.text("a");
        }
        byte[] frame = RawCbor.frame(ID, MessageType.EXEC_REQUEST, p.build());
        assertTrue(frame.length > 4_000_000 && frame.length <= Protocol.MAX_FRAME_LEN + 4, "frame " + frame.length);

        long allocated = allocatedWhile(() -> assertLimit(frame, "args: 2000000 entries, more than the limit of 32768"));
        // What the envelope costs (p copied out of the frame), but no string: they would be tens of MB.
        assertTrue(allocated < 3L * frame.length, "decoding allocated " + allocated + " bytes");
    }

    @Test
    void indefiniteArgsArrayIsRefusedAtTheFirstEntryPastTheLimit() {
        RawCbor p = new RawCbor().map(2).text("cmd").text("/bin/true").text("args").raw(0x9f);
        for (int i = 0; i < 100_000; i++) {
            p.text("a");
        }
        p.raw(0xff);
        long allocated = allocatedWhile(() -> assertLimit(RawCbor.frame(ID, MessageType.EXEC_REQUEST, p.build()),
                "args: more than the limit of 32768 entries"));
        assertTrue(allocated < 16L << 20, "decoding allocated " + allocated + " bytes");
    }

    @Test
    void hugeCmdIsRefusedFromItsHeadQuotingOnlyAShortPrefix() {
        String cmd = "/" + "x".repeat(4_194_103);
        byte[] frame = RawCbor.frame(ID, MessageType.EXEC_REQUEST, new RawCbor().map(1).text("cmd").text(cmd).build());
        assertTrue(frame.length <= Protocol.MAX_FRAME_LEN + 4);
        ProtocolException[] refused = new ProtocolException[1];
        long allocated = allocatedWhile(() ->
                refused[0] = assertLimit(frame, "cmd: 4194104 bytes, more than the limit of 4096 (starts \"/xxx"));
        assertTrue(refused[0].getMessage().length() < 200, refused[0].getMessage());
        // What the envelope costs (p copied out of the frame), but the cmd itself is never decoded.
        assertTrue(allocated < 3L * frame.length, "decoding allocated " + allocated + " bytes");
    }

    @Test
    void envCountCwdAndUserAreLimited() {
        assertLimit(request(new RawCbor().text("env").array(8193)),
                "env: 8193 entries, more than the limit of 8192");
        assertLimit(request(new RawCbor().text("cwd").text("/" + "d".repeat(4096))),
                "cwd: 4097 bytes, more than the limit of 4096");
        assertLimit(request(new RawCbor().text("user").text("u".repeat(513))),
                "user: 513 bytes, more than the limit of 512");
        assertLimit(request(rlimits(65)), "rlimits: 65 entries, more than the limit of 64");
    }

    /**
     * Jackson refuses an array head declaring 2^32 entries or more (or 2^31 or more in an 8-byte
     * head) as it reads it, with its own message; the limit is checked from the head before Jackson reads it, so every count past the
     * limit gets the same answer, however large.
     */
    @Test
    void aDeclaredCountPastIntRangeIsRefusedAsOverTheLimitLikeAnyOther() {
        for (long declared : new long[] {Integer.MAX_VALUE, 1L << 31, 1L << 32, 1L << 40, Long.MAX_VALUE, -1L}) {
            String count = Long.toUnsignedString(declared);
            assertLimit(request(new RawCbor().text("args").head(4, declared)),
                    "args: " + count + " entries, more than the limit of 32768");
            assertLimit(request(new RawCbor().text("env").head(4, declared)),
                    "env: " + count + " entries, more than the limit of 8192");
            assertLimit(request(new RawCbor().text("rlimits").head(4, declared)),
                    "rlimits: " + count + " entries, more than the limit of 64");
        }
        // The same count in a longer head than it needs, and behind a tag (one passes the codec's shape check).
        assertLimit(request(new RawCbor().text("args").raw(0x9b, 0, 0, 0, 0, 0x80, 0, 0, 0)),
                "args: 2147483648 entries, more than the limit of 32768");
        assertLimit(request(new RawCbor().text("args").raw(0xc6).head(4, 1L << 31)),
                "args: 2147483648 entries, more than the limit of 32768");
    }

    @Test
    void totalOfCmdArgsAndEnvIsLimitedAsTheKernelCountsIt() {
        // cmd "/c" (2 + 9) and 1000 args whose cost takes the total one byte past 2 MiB.
        int perArg = (ExecLimits.ARG_ENV_MAX_BYTES - 11) / 1000;
        int last = ExecLimits.ARG_ENV_MAX_BYTES - 11 - 999 * perArg;
        RawCbor args = new RawCbor().text("args").array(1000);
        for (int i = 0; i < 999; i++) {
            args.text("a".repeat(perArg - 9));
        }
        args.text("a".repeat(last - 9 + 1));
        ProtocolException e = assertLimit(request(args), "cmd + args + env: more than the limit of 2097152 bytes");
        assertTrue(e.getMessage().endsWith("passed at args[999]"), e.getMessage());
    }

    @Test
    void aRequestAtEveryLimitDecodes() throws ProtocolException {
        // Each field at its limit, and cmd + args + env at exactly 2 MiB: the env entries take what
        // cmd and the 32768 args leave.
        String cmd = "/" + "c".repeat(ExecLimits.CMD_MAX_BYTES - 1);
        List<String> args = Collections.nCopies(ExecLimits.ARGS_MAX_ENTRIES, "a");
        long left = ExecLimits.ARG_ENV_MAX_BYTES - ExecLimits.argEnvCost(cmd.length())
                - (long) ExecLimits.ARGS_MAX_ENTRIES * ONE_CHAR_COST;
        int envEach = (int) (left / ExecLimits.ENV_MAX_ENTRIES) - 9;
        int envLast = (int) (left - (long) (ExecLimits.ENV_MAX_ENTRIES - 1) * (envEach + 9)) - 9;
        RawCbor p = new RawCbor().map(6).text("cmd").text(cmd).text("args").array(args.size());
        args.forEach(p::text);
        p.text("env").array(ExecLimits.ENV_MAX_ENTRIES);
        for (int i = 0; i < ExecLimits.ENV_MAX_ENTRIES - 1; i++) {
            p.text("E=" + "v".repeat(envEach - 2));
        }
        p.text("E=" + "v".repeat(envLast - 2));
        p.text("cwd").text("/" + "d".repeat(ExecLimits.CWD_MAX_BYTES - 1));
        p.text("user").text("u".repeat(ExecLimits.USER_MAX_BYTES));
        p.text("rlimits");
        appendRlimits(p, ExecLimits.RLIMITS_MAX_ENTRIES);

        FrameDecoder decoder = new FrameDecoder();
        byte[] frame = RawCbor.frame(ID, MessageType.EXEC_REQUEST, p.build());
        decoder.feed(frame, 0, frame.length);
        ExecRequest request = (ExecRequest) decoder.next().payload();
        assertEquals(cmd, request.cmd());
        assertEquals(ExecLimits.ARGS_MAX_ENTRIES, request.args().size());
        assertEquals(ExecLimits.ENV_MAX_ENTRIES, request.env().size());
        assertEquals(ExecLimits.RLIMITS_MAX_ENTRIES, request.rlimits().size());
        long total = ExecLimits.argEnvCost(cmd.length());
        for (String s : request.args()) {
            total += ExecLimits.argEnvCost(s.length());
        }
        for (String s : request.env()) {
            total += ExecLimits.argEnvCost(s.length());
        }
        assertEquals(ExecLimits.ARG_ENV_MAX_BYTES, total);
        assertEquals(ExecLimits.USER_MAX_BYTES, request.user().length());
        assertEquals(ExecLimits.CWD_MAX_BYTES, request.cwd().length());
    }

    @Test
    void limitExceededAnswersAsInvalidPayloadAndKeepsTheStream() {
        assertEquals(ErrorKind.INVALID_PAYLOAD, ErrorKind.LIMIT_EXCEEDED.replyKind());
        assertFalse(ErrorKind.LIMIT_EXCEEDED.losesStream());
        assertEquals("limit_exceeded", ErrorKind.LIMIT_EXCEEDED.wire());
    }

    // ---- helpers

    /** A request with cmd "/c" and the one more field in {@code field} (its key and value). */
    private static byte[] request(RawCbor field) {
        byte[] p = new RawCbor().map(2).text("cmd").text("/c").raw(field.build()).build();
        return RawCbor.frame(ID, MessageType.EXEC_REQUEST, p);
    }

    private static RawCbor rlimits(int n) {
        return appendRlimits(new RawCbor().text("rlimits"), n);
    }

    private static RawCbor appendRlimits(RawCbor c, int n) {
        c.array(n);
        for (int i = 0; i < n; i++) {
            c.map(3).text("resource").text("nofile").text("soft").uint(1).text("hard").uint(2);
        }
        return c;
    }

    /** Decodes {@code frame} expecting limit_exceeded on its id with a message that starts so. */
    private static ProtocolException assertLimit(byte[] frame, String messageStart) {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(frame, 0, frame.length);
        ProtocolException e = assertThrows(ProtocolException.class, decoder::next);
        assertEquals(ErrorKind.LIMIT_EXCEEDED, e.kind(), e.getMessage());
        assertEquals(ID, e.id());
        assertEquals(MessageType.EXEC_REQUEST.wire(), e.type());
        assertTrue(e.getMessage().startsWith(messageStart), e.getMessage());
        assertNull(assertDoesNotThrowNext(decoder));
        assertEquals(0, decoder.buffered());
        return e;
    }

    private static Frame assertDoesNotThrowNext(FrameDecoder decoder) {
        try {
            return decoder.next();
        } catch (ProtocolException e) {
            throw new AssertionError(e);
        }
    }

    /** Bytes this thread allocated while {@code work} ran. */
    private static long allocatedWhile(Runnable work) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(id);
        work.run();
        return threads.getThreadAllocatedBytes(id) - before;
    }
}
