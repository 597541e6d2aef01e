package io.agentd.agent.spawn;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The user database, /etc/passwd and /etc/group, read the way glibc's "files" NSS source reads them:
 * the first matching entry wins; blank lines, '#' lines and malformed entries are skipped; a missing
 * file has no entries. Read by the agent before the spawn, because the spawned child may not read
 * files or allocate (native-shim/agentd-shim.c, rule 1). Users from other NSS sources (LDAP, sssd,
 * systemd's DynamicUser) are not seen; the guest image's nsswitch.conf lists only "files".
 *
 * <p>Failures name the libc call the lookup stands for (getpwnam, getpwuid, getgrnam, initgroups),
 * which the agent maps to user_setup_failed; errno 0 means "no such entry".
 *
 * <p>Every exec looks a user up (HOME at least), so each file's entries are kept and read again only
 * when a stat shows it changed (another inode, as useradd's rename makes, another size or mtime).
 * Thread-safe: a file's entries are replaced as a whole.
 */
public final class UserDb {
    /** A lookup failed: no entry (errno 0) or the file could not be read. */
    public static final class LookupFailure extends Exception {
        private static final long serialVersionUID = 1L;
        final String stage;
        final int errno;

        /** The libc call the failed lookup stands for (getpwnam, getgrnam, ...). */
        public String stage() {
            return stage;
        }

        /** 0 for "no such entry", else why the file could not be read. */
        public int errno() {
            return errno;
        }

        LookupFailure(String stage, int errno) {
            super(stage + " " + errno);
            this.stage = stage;
            this.errno = errno;
        }
    }

    private static final int EIO = 5;
    private static final int EACCES = 13;
    /** (uid_t) -1 means "no change" to the kernel: not a valid id. */
    private static final long MAX_ID = 0xfffffffeL;
    /**
     * (uid_t) -2, the owner a root agent gives its session-group records directory
     * (SessionGroupRecords): those records ask the next agent to kill process groups, so a process of
     * this uid could have it kill groups it could not signal itself. No session or fs request runs
     * as it, whatever /etc/passwd says.
     */
    public static final int RECORDS_OWNER_UID = -2;
    /** The stage of a refusal of {@link #RECORDS_OWNER_UID}. */
    public static final String RESERVED_UID_STAGE = "reserved uid";
    /** What a refusal of {@link #RECORDS_OWNER_UID} says of the user, after its name. */
    public static final String RESERVED_UID_IS =
            "is uid " + Integer.toUnsignedString(RECORDS_OWNER_UID) + ", which runs no process";
    /** {@link #RESERVED_UID_IS} with why, for an answer to a request. */
    public static final String RESERVED_UID_REASON = RESERVED_UID_IS + ": it owns the agent's session-group records";

    private final EntryFile passwd;
    private final EntryFile group;

    /** The database in these files, read as /etc/passwd and /etc/group are (the tests' own, a user removed meanwhile). */
    public UserDb(Path passwd, Path group) {
        this.passwd = new EntryFile(passwd, 4, 7);
        this.group = new EntryFile(group, 3, 4);
    }

    public static UserDb system() {
        return new UserDb(Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    private record PasswdEntry(String name, int uid, int gid, String home) {}

    /**
     * "name", "uid", "name:group" or "uid:gid" (the group a name or a gid). A numeric uid without a
     * passwd entry is allowed: its gid is then the same number, no supplementary groups, HOME "/".
     * With an entry, the supplementary groups are the primary gid and every group listing the user.
     */
    public TargetUser resolve(String spec) throws LookupFailure {
        int colon = spec.indexOf(':');
        String user = colon < 0 ? spec : spec.substring(0, colon);
        String groupName = colon < 0 ? null : spec.substring(colon + 1);

        OptionalInt numericUid = parseId(user);
        PasswdEntry entry;
        if (numericUid.isPresent()) {
            entry = findPasswd(null, numericUid.getAsInt(), "getpwuid")
                    .orElse(new PasswdEntry(null, numericUid.getAsInt(), numericUid.getAsInt(), "/"));
        } else {
            entry = findPasswd(user, 0, "getpwnam").orElseThrow(() -> new LookupFailure("getpwnam", 0));
        }
        if (entry.uid() == RECORDS_OWNER_UID) {
            throw new LookupFailure(RESERVED_UID_STAGE, 0);
        }
        int gid = entry.gid();
        if (groupName != null) {
            OptionalInt numericGid = parseId(groupName);
            gid = numericGid.isPresent() ? numericGid.getAsInt() : groupId(groupName, "getgrnam")
                    .orElseThrow(() -> new LookupFailure("getgrnam", 0));
        }
        int[] groups = entry.name() == null ? new int[0] : memberships(entry.name(), gid);
        return new TargetUser(entry.uid(), gid, groups, entry.home());
    }

    /** The home directory of {@code uid}'s passwd entry; empty when there is none or it cannot be read. */
    Optional<String> homeOf(int uid) {
        try {
            return findPasswd(null, uid, "getpwuid").map(PasswdEntry::home);
        } catch (LookupFailure unreadable) {
            return Optional.empty();
        }
    }

    /** The gid of the first group named {@code name}; empty when there is none or /etc/group cannot be read. */
    OptionalInt groupId(String name) {
        try {
            return groupId(name, "getgrnam");
        } catch (LookupFailure unreadable) {
            return OptionalInt.empty();
        }
    }

    /** getpwnam (name != null) or getpwuid. */
    private Optional<PasswdEntry> findPasswd(String name, int uid, String stage) throws LookupFailure {
        for (String[] f : passwd.entries(stage)) {
            OptionalInt entryUid = parseId(f[2]);
            OptionalInt entryGid = parseId(f[3]);
            if (entryUid.isEmpty() || entryGid.isEmpty()) {
                continue;
            }
            if (name != null ? f[0].equals(name) : entryUid.getAsInt() == uid) {
                return Optional.of(new PasswdEntry(f[0], entryUid.getAsInt(), entryGid.getAsInt(), f[5]));
            }
        }
        return Optional.empty();
    }

    private OptionalInt groupId(String name, String stage) throws LookupFailure {
        for (String[] f : group.entries(stage)) {
            OptionalInt gid = parseId(f[2]);
            if (f[0].equals(name) && gid.isPresent()) {
                return gid;
            }
        }
        return OptionalInt.empty();
    }

    /** initgroups: the primary gid, then every group listing the user as a member, each once. */
    private int[] memberships(String name, int primary) throws LookupFailure {
        Set<Integer> gids = new LinkedHashSet<>();
        gids.add(primary);
        for (String[] f : group.entries("initgroups")) {
            OptionalInt gid = parseId(f[2]);
            if (gid.isPresent() && List.of(f[3].split(",", -1)).contains(name)) {
                gids.add(gid.getAsInt());
            }
        }
        return gids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * One of the two files: its entries split at ':' into max fields (the last keeps any further
     * ':'), entries with fewer than min fields skipped; fields missing after those are empty, as glibc
     * reads them. Kept until a stat shows the file changed.
     */
    private static final class EntryFile {
        private record Snapshot(Object fileKey, FileTime modified, long size, List<String[]> entries) {}

        private static final Snapshot MISSING = new Snapshot(null, null, -1, List.of());

        private final Path path;
        private final int min;
        private final int max;
        private volatile Snapshot snapshot;

        EntryFile(Path path, int min, int max) {
            this.path = path;
            this.min = min;
            this.max = max;
        }

        List<String[]> entries(String stage) throws LookupFailure {
            BasicFileAttributes attrs;
            try {
                attrs = Files.readAttributes(path, BasicFileAttributes.class);
            } catch (NoSuchFileException missing) {
                return List.of();
            } catch (IOException e) {
                throw failure(stage, e);
            }
            Snapshot known = snapshot;
            if (known != null && known != MISSING && attrs.size() == known.size()
                    && attrs.lastModifiedTime().equals(known.modified()) && attrs.fileKey() != null
                    && attrs.fileKey().equals(known.fileKey())) {
                return known.entries();
            }
            Snapshot read = read(attrs, stage);
            snapshot = read;
            return read.entries();
        }

        private Snapshot read(BasicFileAttributes attrs, String stage) throws LookupFailure {
            List<String> lines;
            try {
                // Bytes, as glibc reads them: a byte that is not UTF-8 (a Latin-1 GECOS) becomes U+FFFD in
                // its own entry instead of failing the whole file, and with it every user's lookup.
                lines = new String(Files.readAllBytes(path), StandardCharsets.UTF_8).lines().toList();
            } catch (NoSuchFileException missing) {
                return MISSING;
            } catch (IOException e) {
                throw failure(stage, e);
            }
            List<String[]> entries = new ArrayList<>(lines.size());
            for (String line : lines) {
                String text = line.stripLeading();
                if (text.isEmpty() || text.charAt(0) == '#') {
                    continue;
                }
                String[] split = text.split(":", max);
                if (split.length < min) {
                    continue;
                }
                String[] fields = new String[max];
                for (int i = 0; i < max; i++) {
                    fields[i] = i < split.length ? split[i] : "";
                }
                entries.add(fields);
            }
            // The attributes from before the read: a change during the read makes the next stat differ.
            return new Snapshot(attrs.fileKey(), attrs.lastModifiedTime(), attrs.size(), List.copyOf(entries));
        }

        private static LookupFailure failure(String stage, IOException e) {
            return new LookupFailure(stage, e instanceof AccessDeniedException ? EACCES : EIO);
        }
    }

    /** An id as the kernel takes it: unsigned decimal up to 2^32 - 2. */
    static OptionalInt parseId(String s) {
        if (s.isEmpty() || s.length() > 10) {
            return OptionalInt.empty();
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return OptionalInt.empty();
            }
        }
        long v = Long.parseLong(s);
        return v > MAX_ID ? OptionalInt.empty() : OptionalInt.of((int) v);
    }
}
