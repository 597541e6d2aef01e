package io.agentd.client.fs;

import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;

/**
 * The descriptor a JDK file channel or secure directory stream holds, named /proc/self/fd/N: a path
 * the kernel resolves to the open file or directory itself, not to a name looked up again, for as
 * long as the holder keeps it open. The JDK gives out neither number, so both are read through
 * sun.misc.Unsafe (module jdk.unsupported; reflection on the fields would need --add-opens, as the
 * relay's ChannelFd says for sockets). Where the JDK's layout is not OpenJDK 17's, or /proc is not
 * mounted, there is none, and the callers do without ({@link OpenFileKey}, {@link DirectoryFdPath}).
 */
final class ProcFd {
    private static final sun.misc.Unsafe UNSAFE;
    private static final Class<?> CHANNEL_CLASS;
    private static final Class<?> STREAM_CLASS;
    /** Offsets of FileChannelImpl.fd (a FileDescriptor) and FileDescriptor.fd (its number); -1: unknown. */
    private static final long CHANNEL_FD_OFFSET;
    private static final long FD_NUMBER_OFFSET;
    /** Offset of UnixSecureDirectoryStream.dfd (an int); -1: unknown. */
    private static final long DFD_OFFSET;

    static {
        sun.misc.Unsafe unsafe = null;
        try {
            Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            unsafe = (sun.misc.Unsafe) theUnsafe.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
        }
        UNSAFE = unsafe;
        CHANNEL_CLASS = classOrNull("sun.nio.ch.FileChannelImpl");
        STREAM_CLASS = classOrNull("sun.nio.fs.UnixSecureDirectoryStream");
        long channelFd = offset(CHANNEL_CLASS, "fd", FileDescriptor.class);
        long fdNumber = offset(FileDescriptor.class, "fd", int.class);
        CHANNEL_FD_OFFSET = fdNumber < 0 ? -1 : channelFd;
        FD_NUMBER_OFFSET = fdNumber;
        DFD_OFFSET = offset(STREAM_CLASS, "dfd", int.class);
    }

    private ProcFd() {}

    /** The channel's descriptor number, or -1 when it cannot be known (or the channel is closed). */
    static int of(FileChannel channel) {
        if (CHANNEL_FD_OFFSET < 0 || channel.getClass() != CHANNEL_CLASS || !channel.isOpen()) {
            return -1;
        }
        Object descriptor = UNSAFE.getObject(channel, CHANNEL_FD_OFFSET);
        return descriptor instanceof FileDescriptor ? UNSAFE.getInt(descriptor, FD_NUMBER_OFFSET) : -1;
    }

    /** The stream's directory descriptor number, or -1 when it cannot be known. */
    static int of(SecureDirectoryStream<?> stream) {
        if (DFD_OFFSET < 0 || stream.getClass() != STREAM_CLASS) {
            return -1;
        }
        return UNSAFE.getInt(stream, DFD_OFFSET);
    }

    /**
     * /proc/self/fd/{@code fd}, or null for no descriptor (-1) or no procfs (the name would then be
     * an ordinary, swappable one).
     */
    static Path path(int fd) {
        if (fd < 0) {
            return null;
        }
        Path self = Path.of("/proc/self/fd/" + fd);
        return Files.isSymbolicLink(self) ? self : null;
    }

    private static Class<?> classOrNull(String name) {
        try {
            return Class.forName(name);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** The offset of {@code owner}'s field {@code name} when it has {@code type}; -1 otherwise, or with no Unsafe. */
    private static long offset(Class<?> owner, String name, Class<?> type) {
        if (UNSAFE == null || owner == null) {
            return -1;
        }
        try {
            Field field = owner.getDeclaredField(name);
            return field.getType() == type ? UNSAFE.objectFieldOffset(field) : -1;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }
}
