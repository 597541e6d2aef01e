package io.agentd.client.relay;

import java.lang.reflect.Field;
import java.nio.channels.SocketChannel;

/**
 * The file descriptor number behind a JDK socket channel, which splice(2) needs and the JDK does not
 * give out. Read through sun.misc.Unsafe (module jdk.unsupported): reflection on the field itself
 * needs {@code --add-opens java.base/sun.nio.ch}, which every launcher of the relay would have to
 * pass. When the JDK's layout is not the one expected (another JDK), {@link #NONE}: the relay then
 * copies, as it did before it spliced.
 */
final class ChannelFd {
    static final int NONE = -1;
    private static final long FD_OFFSET;
    private static final sun.misc.Unsafe UNSAFE;
    private static final Class<?> CHANNEL_CLASS;

    static {
        long offset = -1;
        sun.misc.Unsafe unsafe = null;
        Class<?> channelClass = null;
        try {
            Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            unsafe = (sun.misc.Unsafe) theUnsafe.get(null);
            channelClass = Class.forName("sun.nio.ch.SocketChannelImpl");
            Field fdVal = channelClass.getDeclaredField("fdVal");
            if (fdVal.getType() == int.class) {
                offset = unsafe.objectFieldOffset(fdVal);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            offset = -1;
        }
        FD_OFFSET = offset;
        UNSAFE = unsafe;
        CHANNEL_CLASS = channelClass;
    }

    private ChannelFd() {}

    /** The channel's fd, or {@link #NONE} when it cannot be known. */
    static int of(SocketChannel channel) {
        if (FD_OFFSET < 0 || channel.getClass() != CHANNEL_CLASS || !channel.isOpen()) {
            return NONE;
        }
        int fd = UNSAFE.getInt(channel, FD_OFFSET);
        return fd >= 0 ? fd : NONE;
    }
}
