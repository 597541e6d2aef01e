package io.agentd.client.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The terminal on this process's stdin, driven through stty(1) (which works on its own stdin, here
 * inherited from ours), each call under a timeout: its size, raw mode, and putting its mode back on
 * every way out.
 */
final class LocalTerminal {
    /** stty answers at once on a terminal; one that is stopped or stuck must not hold agentctl up. */
    static final Duration STTY_TIMEOUT = Duration.ofSeconds(3);

    /** Runs stty with these arguments; its stdout, or null. */
    interface Stty {
        String run(String... args);
    }

    private final String savedMode;
    private final Stty stty;
    /**
     * Held across each mode change: the switch to raw and a restore (the shutdown hook's, when a
     * signal handler calls System.exit meanwhile) never run at once, so the restore comes after
     * the switch and the terminal is not left raw.
     */
    private final Object modeLock = new Object();
    private boolean raw; // guarded by modeLock
    private final Thread restoreAtExit = new Thread(this::restore, "agentctl-restore-terminal");

    LocalTerminal(String savedMode, Stty stty) {
        this.savedMode = savedMode;
        this.stty = stty;
    }

    /** The terminal on stdin, or null when stdin is not a terminal. */
    static LocalTerminal onStdin() {
        String mode = stty("-g");
        return mode == null || mode.isBlank() ? null : new LocalTerminal(mode.trim(), LocalTerminal::stty);
    }

    /** The size of {@code terminal} ({@link #size}), or null when there is none (stdin is no terminal). */
    static int[] sizeOf(LocalTerminal terminal) {
        return terminal == null ? null : terminal.size();
    }

    /** {rows, cols}, or null when the terminal does not know its size. */
    int[] size() {
        String out = stty.run("size");
        if (out == null) {
            return null;
        }
        String[] parts = out.trim().split("\\s+");
        try {
            int rows = Integer.parseInt(parts[0]);
            int cols = Integer.parseInt(parts[1]);
            return rows > 0 && cols > 0 ? new int[] {rows, cols} : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Raw mode without echo: every key goes to the remote side as typed (^C included). The mode is
     * put back by {@link #restore}, and by a shutdown hook if the JVM ends another way (a signal).
     */
    void enterRaw() {
        synchronized (modeLock) {
            if (!raw) {
                raw = true;
                Runtime.getRuntime().addShutdownHook(restoreAtExit); // a hook that runs now waits for the switch
                stty.run("raw", "-echo");
            }
        }
    }

    /**
     * Puts back the mode the terminal had; safe to call more than once, from any thread. One that
     * comes while {@link #enterRaw} switches waits for it, then puts the mode back.
     */
    void restore() {
        synchronized (modeLock) {
            if (!raw) {
                return;
            }
            raw = false;
            stty.run(savedMode);
            if (Thread.currentThread() != restoreAtExit) {
                try {
                    Runtime.getRuntime().removeShutdownHook(restoreAtExit);
                } catch (IllegalStateException e) {
                    // already shutting down: the hook runs and finds nothing to do
                }
            }
        }
    }

    /**
     * Runs stty on our stdin (the terminal whose keys agentctl reads, which is the one to make raw);
     * its stdout, or null if it failed or did not end within {@link #STTY_TIMEOUT}.
     */
    private static String stty(String... args) {
        List<String> command = new ArrayList<>();
        command.add("stty");
        command.addAll(List.of(args));
        return TimedCommand.output(command, STTY_TIMEOUT);
    }
}
