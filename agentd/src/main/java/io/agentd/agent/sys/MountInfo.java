package io.agentd.agent.sys;

/** What /proc/self/mountinfo's lines hold, read the one way (the cgroup2 mount's detection, exec's noexec hint). */
public final class MountInfo {
    private MountInfo() {}

    /** A field with mountinfo's octal escapes (\040 for a space; tab, newline and backslash too) undone. */
    public static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char ch = field.charAt(i);
            if (ch == '\\' && i + 3 < field.length() && isOctal(field, i + 1) && isOctal(field, i + 2)
                    && isOctal(field, i + 3)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(ch);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int i) {
        char c = s.charAt(i);
        return c >= '0' && c <= '7';
    }
}
