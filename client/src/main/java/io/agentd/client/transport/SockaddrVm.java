package io.agentd.client.transport;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Linux's {@code struct sockaddr_vm} (linux/vm_sockets.h), 16 bytes in host byte order:
 * <pre>
 * sa_family_t  svm_family;     u16, AF_VSOCK (40)
 * unsigned short svm_reserved1; u16, 0
 * unsigned int svm_port;       u32
 * unsigned int svm_cid;        u32
 * unsigned char svm_flags;     u8, 0
 * unsigned char svm_zero[3];   0
 * </pre>
 */
final class SockaddrVm {
    static final int AF_VSOCK = 40;
    static final int SIZE = 16;

    private SockaddrVm() {}

    /** The address of {@code port} on the context {@code cid} (both u32, held in longs). */
    static byte[] encode(long cid, long port) {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder());
        b.putShort((short) AF_VSOCK);
        b.putShort((short) 0);
        b.putInt((int) port);
        b.putInt((int) cid);
        // svm_flags and svm_zero stay 0
        return b.array();
    }
}
