package io.agentd.client.fs;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The identity (device and inode, as {@link BasicFileAttributes#fileKey} gives them) of the file a
 * {@link FileChannel} has open, found through the channel's own descriptor, never through a name:
 * {@link LocalFiles#replace} checks with it that the name it renamed over the destination was its
 * own file, not one another user put in its place. The JDK has no fstat on a channel, so the
 * descriptor's number is read through sun.misc.Unsafe (as the relay's ChannelFd does for sockets)
 * and the file stat'ed as /proc/self/fd/N. That path cannot be redirected: /proc/self is this
 * process, fd N is held open by the channel for the whole call, and the kernel resolves the link
 * to the open file itself (its target is not looked up again as a path), even once its name is gone.
 * Where the JDK's layout is not the one expected (another JDK) or /proc is not mounted, the identity
 * is unknown (null).
 */
final class OpenFileKey {
    private static final sun.misc.Unsafe UNSAFE;
    private static final Class<?> CHANNEL_CLASS;
    /** Offsets of FileChannelImpl.fd (a FileDescriptor) and FileDescriptor.fd (its number); -1: unknown. */
    private static final long CHANNEL_FD_OFFSET;
    private static final long FD_NUMBER_OFFSET;

    static {
        sun.misc.Unsafe unsafe = null;
        Class<?> channelClass = null;
        long channelFd = -1;
        long fdNumber = -1;
        try {
            Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            unsafe = (sun.misc.Unsafe) theUnsafe.get(null);
            channelClass = Class.forName("sun.nio.ch.FileChannelImpl");
            Field fd = channelClass.getDeclaredField("fd");
            Field number = FileDescriptor.class.getDeclaredField("fd");
            if (fd.getType() == FileDescriptor.class && number.getType() == int.class) {
                channelFd = unsafe.objectFieldOffset(fd);
                fdNumber = unsafe.objectFieldOffset(number);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            channelFd = -1;
        }
        UNSAFE = unsafe;
        CHANNEL_CLASS = channelClass;
        CHANNEL_FD_OFFSET = channelFd;
        FD_NUMBER_OFFSET = fdNumber;
    }

    private OpenFileKey() {}

    /** The open file's key, or null when it cannot be known here. */
    static Object of(FileChannel channel) throws IOException {
        int fd = fdOf(channel);
        if (fd < 0) {
            return null;
        }
        Path self = Path.of("/proc/self/fd/" + fd);
        if (!Files.isSymbolicLink(self)) { // no procfs: the name would be an ordinary, swappable one
            return null;
        }
        return Files.readAttributes(self, BasicFileAttributes.class).fileKey(); // follows the fd's link
    }

    private static int fdOf(FileChannel channel) {
        if (CHANNEL_FD_OFFSET < 0 || channel.getClass() != CHANNEL_CLASS || !channel.isOpen()) {
            return -1;
        }
        Object descriptor = UNSAFE.getObject(channel, CHANNEL_FD_OFFSET);
        return descriptor instanceof FileDescriptor ? UNSAFE.getInt(descriptor, FD_NUMBER_OFFSET) : -1;
    }
}
