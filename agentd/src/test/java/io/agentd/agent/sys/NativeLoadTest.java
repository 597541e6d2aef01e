package io.agentd.agent.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Surefire runs these tests the way the guest launcher runs the agent: native-shim from
 * -Dagentd.shim.library, jffi's stub (libcrypto's binding, fs.LibCrypto) from
 * -Djffi.boot.library.path and a java.io.tmpdir that does not exist. (When the boot path does not
 * work, jffi extracts the stub into java.io.tmpdir, or failing that into the working directory.)
 */
class NativeLoadTest {

    @Test
    void jffiStubIsTheOneFromTheBootPath() throws Exception {
        String bootPath = System.getProperty("jffi.boot.library.path");
        assertNotNull(bootPath, "surefire sets -Djffi.boot.library.path");
        jnr.ffi.Runtime.getSystemRuntime(); // what fs.LibCrypto's load starts with
        List<String> jffiMappings = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(line -> line.contains("jffi"))
                .map(line -> line.substring(line.indexOf('/')))
                .distinct()
                .toList();
        assertFalse(jffiMappings.isEmpty(), "jffi's stub is mapped");
        String realBootPath = Path.of(bootPath).toRealPath().toString();
        for (String mapped : jffiMappings) {
            assertTrue(mapped.startsWith(realBootPath + "/"), mapped + " is not under " + realBootPath);
        }
        assertFalse(Files.exists(Path.of(System.getProperty("java.io.tmpdir"))), "nothing made a temp directory");
    }

    @Test
    void errnoIsThisThreadsLastError() {
        assertEquals(-1, Os.libc().close(-1));
        assertEquals("EBADF", Os.errnoName(Os.errno()));
        assertEquals("Bad file descriptor", Os.errnoDescription(Os.errno()));
    }

    @Test
    void errnoIsKeptPerThreadPastTheJvmsOwnCalls() throws Exception {
        assertEquals(-1, Os.libc().close(-1));
        Thread other = new Thread(() -> Os.libc().open(Os.cString("/nonexistent/x"), LibC.O_RDONLY, 0));
        other.start();
        other.join();
        System.gc(); // the JVM's own system calls on this thread, between the call and the read of errno
        assertEquals("EBADF", Os.errnoName(Os.errno()), "this thread's errno, not the other thread's ENOENT");
    }

    @Test
    void everyNativeMethodOfLibCIsRegisteredByTheLibrary() {
        Os.libc();
        long declared = java.util.Arrays.stream(LibC.class.getDeclaredMethods())
                .filter(m -> java.lang.reflect.Modifier.isNative(m.getModifiers()))
                .count();
        // Each table entry must match a method for the load to succeed: equal counts leave none out.
        assertEquals(declared, LibC.methodsRegistered(), "native methods of LibC against agentd-jni.c's table");
    }

    @Test
    void aNumberGlibcDoesNotNameIsSaidAsANumber() {
        assertEquals("errno 4000", Os.errnoName(4000));
        assertEquals("unknown error", Os.errnoDescription(4000));
    }

    @Test
    void theOpenFlagsThatDifferByMachineAreTheHeaders() {
        Os.libc(); // loads the library (LibC's own methods are there only once Os has loaded it)
        assertEquals(LibC.openFlag(0), LibC.O_NOFOLLOW);
        assertEquals(LibC.openFlag(1), LibC.O_DIRECTORY);
    }

    @Test
    void aHeapBufferReadsAndWritesFromItsPositionAndARegionOutsideAnArrayIsRefused() {
        int[] fds = new int[2];
        assertEquals(0, Os.libc().pipe2(fds, LibC.O_CLOEXEC));
        try {
            java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap("xxhello".getBytes());
            out.position(2);
            assertEquals(5, Os.libc().write(fds[1], out.asReadOnlyBuffer(), 5), "a read-only heap buffer");
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(10);
            in.position(3);
            assertEquals(5, Os.libc().read(fds[0], in, 5));
            assertEquals("hello", new String(in.array(), 3, 5));
            assertEquals(-1, Os.libc().read(fds[0], new byte[4], 5), "5 bytes into 4");
            assertEquals("EFAULT", Os.errnoName(Os.errno()));
        } finally {
            Os.close(fds[0]);
            Os.close(fds[1]);
        }
    }

    @Test
    void aNullPathIsRefusedWithoutACall() {
        assertEquals(-1, Os.libc().open(null, LibC.O_RDONLY | LibC.O_CLOEXEC, 0));
        assertEquals("EFAULT", Os.errnoName(Os.errno()));
        assertEquals(-1, Os.libc().renameat(LibC.AT_FDCWD, null, LibC.AT_FDCWD, Os.cString("/tmp/x")));
        assertEquals("EFAULT", Os.errnoName(Os.errno()));
        assertEquals(-1, Os.libc().mkdirat(LibC.AT_FDCWD, null, 0700));
        assertEquals("EFAULT", Os.errnoName(Os.errno()));
    }

    // ---- rule 5 of agentd-jni.c for direct buffers: a count past the capacity makes no call --------

    private static final boolean PACKED_EPOLL_EVENT = "amd64".equals(System.getProperty("os.arch"))
            || "x86_64".equals(System.getProperty("os.arch"));
    private static final int EPOLL_EVENT_BYTES = PACKED_EPOLL_EVENT ? 12 : 16;
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SO_TYPE = 3;
    private static final int EINVAL = 22;
    private static final int CLOCK_MONOTONIC = 1; // cannot be set: the kernel answers EINVAL
    private static final byte FILL = 0x5a;

    /**
     * The first {@code size} bytes of a larger direct buffer, every byte FILL: the kernel finds the
     * memory after the buffer mapped, so a count past it is not EFAULT from the kernel but a read or
     * a write of that memory, which the bytes after the buffer show.
     */
    private record Fenced(ByteBuffer buffer, ByteBuffer whole, int size) {
        static Fenced of(int size) {
            ByteBuffer whole = Os.allocate(size + 256);
            for (int i = 0; i < whole.capacity(); i++) {
                whole.put(i, FILL);
            }
            return new Fenced(Os.slice(whole, 0, size), whole, size);
        }

        /** The call was refused with EFAULT, and nothing after the buffer was written. */
        void assertRefused(int result, String call) {
            assertEquals(-1, result, call + ": made, though its count is past the buffer's " + size + " bytes");
            assertEquals("EFAULT", Os.errnoName(Os.errno()), call);
            for (int i = size; i < whole.capacity(); i++) {
                assertEquals(FILL, whole.get(i), call + " wrote byte " + i + ", past the buffer's " + size);
            }
        }
    }

    @Test
    void epollWaitForMoreEventsThanTheBufferHoldsAndAShortEventAreRefused() {
        LibC libc = Os.libc();
        int ep = libc.epoll_create1(LibC.O_CLOEXEC);
        int[] ready = {libc.eventfd(1, LibC.O_CLOEXEC), libc.eventfd(1, LibC.O_CLOEXEC)}; // readable at once
        try {
            ByteBuffer event = Os.allocate(EPOLL_EVENT_BYTES);
            for (int fd : ready) {
                event.putInt(0, 0x1);
                assertEquals(0, libc.epoll_ctl(ep, 1, fd, event), "epoll_ctl(ADD): " + Os.errnoName(Os.errno()));
            }

            Fenced one = Fenced.of(EPOLL_EVENT_BYTES);
            one.assertRefused(libc.epoll_wait(ep, one.buffer(), 2, 0), "epoll_wait for 2 into room for 1");
            one.assertRefused(libc.epoll_wait(ep, one.buffer(), -1, 0), "epoll_wait for -1");
            assertEquals(1, libc.epoll_wait(ep, one.buffer(), 1, 0), "the count that fits: " + Os.errnoName(Os.errno()));

            Fenced shortEvent = Fenced.of(4);
            shortEvent.buffer().putInt(0, 0x1); // EPOLLIN, and no room for the data
            shortEvent.assertRefused(libc.epoll_ctl(ep, 3, ready[0], shortEvent.buffer()), "epoll_ctl(MOD) from 4 bytes");
        } finally {
            Os.close(ready[0]);
            Os.close(ready[1]);
            Os.close(ep);
        }
    }

    @Test
    void pollOfMoreFdsThanTheBufferHoldsIsRefused() {
        int[] fds = new int[2];
        assertEquals(0, Os.libc().pipe2(fds, LibC.O_CLOEXEC));
        try {
            Fenced one = Fenced.of(8); // struct pollfd {int fd; short events; short revents}
            one.buffer().putInt(0, fds[0]).putShort(4, LibC.POLLIN).putShort(6, (short) 0);
            one.assertRefused(Os.libc().poll(one.buffer(), 2, 0), "poll of 2 in room for 1");
            assertEquals(0, Os.libc().poll(one.buffer(), 1, 0), "the count that fits: " + Os.errnoName(Os.errno()));
        } finally {
            Os.close(fds[0]);
            Os.close(fds[1]);
        }
    }

    @Test
    void socketAddressesAndOptionsLongerThanTheirBuffersAreRefused() {
        LibC libc = Os.libc();
        int fd = libc.socket(AF_UNIX, SOCK_STREAM | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0, "socket: " + Os.errnoName(Os.errno()));
        try {
            Fenced address = Fenced.of(2); // sa_family only
            address.buffer().putShort(0, (short) AF_UNIX);
            address.assertRefused(libc.bind(fd, address.buffer(), 110), "bind of 110 bytes from 2");
            address.assertRefused(libc.connect(fd, address.buffer(), 110), "connect to 110 bytes from 2");
            address.assertRefused(libc.bind(fd, address.buffer(), -1), "bind of -1 bytes");

            ByteBuffer length = Os.allocate(4);
            Fenced value = Fenced.of(2);
            length.putInt(0, 4);
            value.assertRefused(libc.getsockopt(fd, LibC.SOL_SOCKET, SO_TYPE, value.buffer(), length),
                    "getsockopt of 4 bytes into 2");
            assertEquals(4, length.getInt(0), "the length is left as it was");
            Fenced shortLength = Fenced.of(2);
            shortLength.assertRefused(libc.getsockopt(fd, LibC.SOL_SOCKET, SO_TYPE, Os.allocate(4), shortLength.buffer()),
                    "getsockopt with its length in 2 bytes");
            ByteBuffer type = Os.allocate(4);
            assertEquals(0, libc.getsockopt(fd, LibC.SOL_SOCKET, SO_TYPE, type, length), Os.errnoName(Os.errno()));
            assertEquals(SOCK_STREAM, type.getInt(0));
            assertEquals(4, length.getInt(0));

            Fenced peer = Fenced.of(4);
            ByteBuffer peerLength = Os.allocate(4).putInt(0, 128);
            peer.assertRefused(libc.accept4(fd, peer.buffer(), peerLength, 0), "accept4 of 128 bytes into 4");
            Fenced shortPeerLength = Fenced.of(2);
            shortPeerLength.assertRefused(libc.accept4(fd, Os.allocate(128), shortPeerLength.buffer(), 0),
                    "accept4 with its length in 2 bytes");
            assertEquals(-1, libc.accept4(fd, null, null, 0), "no address wanted: the call is made");
            assertEquals(EINVAL, Os.errno(), "a socket that does not listen: " + Os.errnoName(Os.errno()));
        } finally {
            Os.close(fd);
        }
    }

    @Test
    void aTermiosOrTimespecBufferShorterThanTheStructIsRefused() {
        LibC libc = Os.libc();
        int master = libc.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        assertTrue(master >= 0, "posix_openpt: " + Os.errnoName(Os.errno()));
        try {
            Fenced termios = Fenced.of(8);
            termios.assertRefused(libc.tcgetattr(master, termios.buffer()), "tcgetattr into 8 bytes");
            termios.assertRefused(libc.tcsetattr(master, 0, termios.buffer()), "tcsetattr from 8 bytes");
            libc.cfmakeraw(termios.buffer());
            for (int i = 0; i < termios.whole().capacity(); i++) {
                assertEquals(FILL, termios.whole().get(i), "cfmakeraw changed byte " + i + " of a buffer of 8");
            }
            ByteBuffer whole = Os.allocate(256);
            assertEquals(0, libc.tcgetattr(master, whole), Os.errnoName(Os.errno()));
        } finally {
            Os.close(master);
        }

        Fenced timespec = Fenced.of(8);
        timespec.assertRefused(libc.clock_gettime(LibC.CLOCK_REALTIME, timespec.buffer()), "clock_gettime into 8 bytes");
        timespec.assertRefused(libc.clock_settime(CLOCK_MONOTONIC, timespec.buffer()), "clock_settime from 8 bytes");
        assertEquals(0, libc.clock_gettime(LibC.CLOCK_REALTIME, Os.allocate(16)), Os.errnoName(Os.errno()));
    }
}
