package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Who a vsock port serves, decided from the peer's CID as accept gives it: the refusal goes out on
 * a real fd (a pipe's write end stands for the accepted connection) and is read back as a frame.
 */
class VsockAdmissionTest {
    private static final long OWN_CID = 3;
    private int readEnd = -1;
    private int writeEnd = -1;

    @BeforeEach
    void pipe() {
        int[] fds = new int[2];
        assertEquals(0, Os.libc().pipe2(fds, LibC.O_NONBLOCK | LibC.O_CLOEXEC));
        readEnd = fds[0];
        writeEnd = fds[1];
    }

    @AfterEach
    void close() {
        Os.close(readEnd);
        Os.close(writeEnd);
    }

    @Test
    void aPeerOnAnotherMachineIsServedAndToldNothing() throws Exception {
        VsockAdmission admission = new VsockAdmission(new ScriptedLoop(), "vsock:1024", false, OWN_CID);
        assertEquals("cid 2, port 5000", admission.admit(writeEnd, sockaddrVm(2, 5000)));
        assertEquals(Os.WOULD_BLOCK, Os.read(readEnd, ByteBuffer.allocateDirect(64)), "nothing written to a served peer");
    }

    /** CID 1 (vsock_loopback) and the machine's own CID are both this machine: refused, told why on id 0. */
    @Test
    void aPeerOnThisMachineIsToldItIsRefused() throws Exception {
        VsockAdmission admission = new VsockAdmission(new ScriptedLoop(), "vsock:1024", false, OWN_CID);
        assertNull(admission.admit(writeEnd, sockaddrVm(1, 5001)));
        assertRefusal("(cid 1, port 5001)");
        assertNull(admission.admit(writeEnd, sockaddrVm(OWN_CID, 5002)));
        assertRefusal("(cid 3, port 5002)");
    }

    @Test
    void withVsockLocalServeAPeerOnThisMachineIsServed() throws Exception {
        VsockAdmission admission = new VsockAdmission(new ScriptedLoop(), "vsock:1024", true, OWN_CID);
        assertEquals("cid 1, port 5003", admission.admit(writeEnd, sockaddrVm(1, 5003)));
        assertEquals("cid 3, port 5004", admission.admit(writeEnd, sockaddrVm(OWN_CID, 5004)));
    }

    @Test
    void theMachinesOwnCidIsReadFromDevVsock() {
        assumeTrue(Files.exists(Path.of("/dev/vsock")), "skipped: no /dev/vsock here (no vsock transport loaded)");
        long cid = VsockAdmission.readOwnCid();
        assertNotEquals(VsockAdmission.NO_CID, cid, "IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock");
        assertTrue(cid >= 0 && cid <= 0xFFFF_FFFFL, "a u32: " + cid);
    }

    private void assertRefusal(String peer) throws Exception {
        ByteBuffer in = ByteBuffer.allocateDirect(4096);
        assertTrue(Os.read(readEnd, in) > 0, "the refusal was written");
        in.flip();
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(in);
        Frame frame = decoder.next();
        assertEquals(Protocol.CONTROL_ID, frame.id());
        assertEquals(MessageType.CORE_ERROR, frame.type());
        ErrorPayload error = (ErrorPayload) frame.payload();
        assertEquals(ErrorKind.INVALID_SESSION.wire(), error.kind());
        assertTrue(error.message().contains("own machine " + peer) && error.message().contains("--vsock-local serve"),
                error.message());
        assertNull(decoder.next(), "one frame");
    }

    /** struct sockaddr_vm as accept fills it in: family, reserved, port, CID. */
    private static ByteBuffer sockaddrVm(long cid, long port) {
        ByteBuffer addr = Os.allocate(VsockServer.SOCKADDR_VM_BYTES);
        addr.putShort(0, (short) VsockServer.AF_VSOCK);
        addr.putInt(4, (int) port);
        addr.putInt(8, (int) cid);
        return addr;
    }
}
