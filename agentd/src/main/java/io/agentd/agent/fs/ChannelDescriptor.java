package io.agentd.agent.fs;

import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * The file a {@link FileChannel} has open, as a path that names that file and no other:
 * {@code /proc/self/fd/N}, which the kernel resolves to the open file however its name has changed
 * since (renamed, replaced, swapped for a link). The JDK keeps the descriptor's number to itself; it
 * is read through sun.misc.Unsafe (module jdk.unsupported, which the guest's runtime has), since
 * reflection on the field would need {@code --add-opens java.base/sun.nio.ch}. On a JDK whose layout
 * is not the expected one, {@link #path} returns null and the caller falls back to the file's name.
 * The agent's log file is checked through it too ({@code LogFileAppender}).
 */
public final class ChannelDescriptor {
    private static final sun.misc.Unsafe UNSAFE;
    private static final Class<?> CHANNEL_CLASS;
    private static final long CHANNEL_FD_OFFSET;
    private static final long DESCRIPTOR_FD_OFFSET;

    static {
        sun.misc.Unsafe unsafe = null;
        Class<?> channelClass = null;
        long channelFd = -1;
        long descriptorFd = -1;
        try {
            Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            unsafe = (sun.misc.Unsafe) theUnsafe.get(null);
            channelClass = Class.forName("sun.nio.ch.FileChannelImpl");
            Field fd = channelClass.getDeclaredField("fd");
            Field number = FileDescriptor.class.getDeclaredField("fd");
            if (fd.getType() == FileDescriptor.class && number.getType() == int.class) {
                channelFd = unsafe.objectFieldOffset(fd);
                descriptorFd = unsafe.objectFieldOffset(number);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            channelFd = -1;
        }
        UNSAFE = unsafe;
        CHANNEL_CLASS = channelClass;
        CHANNEL_FD_OFFSET = channelFd;
        DESCRIPTOR_FD_OFFSET = descriptorFd;
    }

    private ChannelDescriptor() {}

    /** {@code /proc/self/fd/N} of the channel's open file, or null when its descriptor cannot be known. */
    public static Path path(FileChannel channel) {
        int fd = fd(channel);
        return fd >= 0 ? Path.of("/proc/self/fd/" + fd) : null;
    }

    /**
     * The channel's descriptor number, or -1 when it cannot be known (closed, another layout). Only
     * for a channel nobody else can close meanwhile: the number may name another file once it is.
     */
    static int fd(FileChannel channel) {
        if (CHANNEL_FD_OFFSET < 0 || channel.getClass() != CHANNEL_CLASS || !channel.isOpen()) {
            return -1;
        }
        Object descriptor = UNSAFE.getObject(channel, CHANNEL_FD_OFFSET);
        if (!(descriptor instanceof FileDescriptor)) {
            return -1;
        }
        return UNSAFE.getInt(descriptor, DESCRIPTOR_FD_OFFSET);
    }
}
