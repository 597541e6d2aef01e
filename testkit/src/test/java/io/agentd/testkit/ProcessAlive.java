package io.agentd.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether a pid runs, read from /proc: a zombie (killed, not yet reaped) counts as ended. */
final class ProcessAlive {
    private ProcessAlive() {
    }

    static boolean of(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // pid (comm) STATE ...: comm may hold spaces and parentheses; the state follows the last ')'.
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }
}
