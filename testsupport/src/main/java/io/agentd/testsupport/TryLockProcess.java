package io.agentd.testsupport;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Another process trying a file's lock (fcntl, as FileChannel.tryLock takes it): prints "locked" or
 * "refused". A test runs it with its own class path to see whether its process still holds a lock.
 */
public final class TryLockProcess {
    private TryLockProcess() {}

    public static void main(String[] args) throws Exception {
        try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            System.out.println(lock != null ? "locked" : "refused");
        }
    }

    /** Runs it in a JVM of its own on {@code file}; its one line. */
    public static String tryFrom(Path file) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), TryLockProcess.class.getName(),
                file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor();
        return out;
    }
}
