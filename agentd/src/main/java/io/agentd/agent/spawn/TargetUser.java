package io.agentd.agent.spawn;

/**
 * The credentials a command (or an fs operation with a {@code user}) runs with, resolved by {@link UserDb}.
 *
 * @param uid    the user id
 * @param gid    the primary group id
 * @param groups the supplementary groups (setgroups), the primary one included
 * @param home   the passwd entry's home directory, "/" for a uid without an entry
 */
public record TargetUser(int uid, int gid, int[] groups, String home) {}
