package io.agentd.client.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** struct sockaddr_vm as linux/vm_sockets.h lays it out (this host has no vhost-vsock to connect to). */
class SockaddrVmTest {

    @Test
    void familyReservedPortCidFlagsZeroIn16Bytes() {
        byte[] addr = SockaddrVm.encode(0xAABBCCDDL, 0x11223344L);
        assertEquals(16, addr.length);
        ByteBuffer b = ByteBuffer.wrap(addr).order(ByteOrder.nativeOrder());
        assertEquals(40, b.getShort(0), "svm_family = AF_VSOCK");
        assertEquals(0, b.getShort(2), "svm_reserved1");
        assertEquals(0x11223344, b.getInt(4), "svm_port");
        assertEquals(0xAABBCCDD, b.getInt(8), "svm_cid");
        for (int i = 12; i < 16; i++) {
            assertEquals(0, addr[i], "svm_flags and svm_zero, byte " + i);
        }
    }

    @Test
    void onALittleEndianHostTheBytesAreExactlyThese() {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            return; // the layout test above covers a big-endian host
        }
        byte[] addr = SockaddrVm.encode(3, 1024);
        assertEquals("28000000" + "00040000" + "03000000" + "00000000", hex(addr));
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x & 0xff));
        }
        return s.toString();
    }
}
