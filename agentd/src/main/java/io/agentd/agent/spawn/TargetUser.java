package io.agentd.agent.spawn;

/**
 * The credentials a command runs with, resolved by {@link UserDb} before the spawn.
 *
 * @param uid    the user id
 * @param gid    the primary group id
 * @param groups the supplementary groups (setgroups), the primary one included
 * @param home   the passwd entry's home directory, "/" for a uid without an entry
 */
record TargetUser(int uid, int gid, int[] groups, String home) {}
