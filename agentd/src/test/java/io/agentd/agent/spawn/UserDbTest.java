package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The passwd/group reader on files of its own: glibc "files" semantics without NSS. */
class UserDbTest {
    private Path dir;
    private UserDb db;

    @BeforeEach
    void files() throws Exception {
        // under target/: the tests run with a java.io.tmpdir that does not exist (NativeLoadTest)
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/test-tmp")), "userdb-");
        Files.writeString(dir.resolve("passwd"), String.join("\n",
                "# comment",
                "",
                "root:x:0:0:root:/root:/bin/bash",
                "   ",
                "broken-uid:x:abc:1::/nowhere:/bin/sh",
                "short:x:5",
                "alice:x:1000:1000:Alice:/home/alice:/bin/sh",
                "alice:x:2000:2000:second entry:/second:/bin/sh",
                "nohome:x:1500:1500",
                "bigid:x:4294967294:4294967294::/big:/bin/sh",
                "") + "\n");
        Files.writeString(dir.resolve("group"), String.join("\n",
                "root:x:0:",
                "staff:x:50:bob,alice",
                "dev:x:60:alice",
                "again:x:50:alice",
                "tty:x:5:",
                "noisy:x:notanumber:alice",
                "solo:x:70:alicex",
                "") + "\n");
        db = new UserDb(dir.resolve("passwd"), dir.resolve("group"));
    }

    @Test
    void nameGivesTheFirstEntryAndItsGroupsInFileOrderOnce() throws Exception {
        TargetUser alice = db.resolve("alice");
        assertEquals(1000, alice.uid());
        assertEquals(1000, alice.gid());
        assertEquals("/home/alice", alice.home());
        assertArrayEquals(new int[] {1000, 50, 60}, alice.groups(), "primary first; gid 50 once; exact names only");
    }

    @Test
    void uidWithAnEntryIsThatUser() throws Exception {
        TargetUser byUid = db.resolve("1000");
        assertEquals("/home/alice", byUid.home());
        assertArrayEquals(new int[] {1000, 50, 60}, byUid.groups());
    }

    @Test
    void uidWithoutAnEntryIsAllowedWithItsOwnNumberAsGidAndNoGroups() throws Exception {
        TargetUser u = db.resolve("4242");
        assertEquals(4242, u.uid());
        assertEquals(4242, u.gid());
        assertEquals("/", u.home());
        assertArrayEquals(new int[0], u.groups());
    }

    @Test
    void groupByNameOrNumberReplacesThePrimaryGroup() throws Exception {
        TargetUser named = db.resolve("alice:dev");
        assertEquals(60, named.gid());
        assertArrayEquals(new int[] {60, 50}, named.groups());
        assertEquals(777, db.resolve("alice:777").gid());
        assertEquals(4343, db.resolve("4242:4343").gid());
    }

    @Test
    void missingFieldsAreEmptyAndIdsUpToTheLargestValidOne() throws Exception {
        assertEquals("", db.resolve("nohome").home());
        assertEquals(OptionalInt.of((int) 4294967294L), UserDb.parseId("4294967294"));
        assertEquals(OptionalInt.empty(), UserDb.parseId("4294967295"), "(uid_t) -1 is not an id");
        assertEquals(OptionalInt.empty(), UserDb.parseId("-1"));
        assertEquals(OptionalInt.empty(), UserDb.parseId("+1"));
    }

    /**
     * (uid_t) -2 owns a root agent's session-group records, which ask the next agent to kill groups:
     * a session or fs request of that uid could write them. Refused by number and by a name of it.
     */
    @Test
    void theRecordsOwnersUidIsNoUserToRunAs() {
        for (String user : new String[] {"4294967294", "bigid", "4294967294:0"}) {
            UserDb.LookupFailure f = assertThrows(UserDb.LookupFailure.class, () -> db.resolve(user), user);
            assertEquals(UserDb.RESERVED_UID_STAGE, f.stage, user);
            assertEquals(0, f.errno, user);
        }
    }

    @Test
    void unknownUserAndGroupFailWithoutErrno() {
        UserDb.LookupFailure user = assertThrows(UserDb.LookupFailure.class, () -> db.resolve("short"));
        assertEquals("getpwnam", user.stage);
        assertEquals(0, user.errno);
        UserDb.LookupFailure group = assertThrows(UserDb.LookupFailure.class, () -> db.resolve("alice:nope"));
        assertEquals("getgrnam", group.stage);
        assertEquals(0, group.errno);
        assertThrows(UserDb.LookupFailure.class, () -> db.resolve("broken-uid"), "a malformed entry is skipped");
    }

    @Test
    void missingFilesHaveNoEntries() throws Exception {
        UserDb none = new UserDb(dir.resolve("no-passwd"), dir.resolve("no-group"));
        assertEquals(0, assertThrows(UserDb.LookupFailure.class, () -> none.resolve("root")).errno);
        assertEquals("/", none.resolve("0").home());
        assertEquals(Optional.empty(), none.homeOf(0));
        assertEquals(OptionalInt.empty(), none.groupId("tty"));
    }

    @Test
    void unreadableFileIsAnErrnoOnTheLookupsStage() throws Exception {
        UserDb dirAsFile = new UserDb(dir, dir);  // reading a directory fails with an IOException
        UserDb.LookupFailure f = assertThrows(UserDb.LookupFailure.class, () -> dirAsFile.resolve("alice"));
        assertEquals("getpwnam", f.stage);
        assertEquals(5, f.errno, "EIO");
        assertEquals(Optional.empty(), dirAsFile.homeOf(0), "HOME lookups fall back instead of failing");
    }

    @Test
    void aChangedFileIsReadAgainWhetherReplacedOrRewrittenInPlace() throws Exception {
        assertEquals(1000, db.resolve("alice").uid());
        Path passwd = dir.resolve("passwd");
        Path replacement = dir.resolve("passwd.new");
        Files.writeString(replacement, "alice:x:1001:1001::/home/alice:/bin/sh\n");
        Files.move(replacement, passwd, StandardCopyOption.REPLACE_EXISTING); // as useradd does
        assertEquals(1001, db.resolve("alice").uid());
        Files.writeString(passwd, "alice:x:1002:1001::/home/alice:/bin/sh\n"); // same size, same inode
        Files.setLastModifiedTime(passwd, FileTime.fromMillis(1));
        assertEquals(1002, db.resolve("alice").uid());
        Files.delete(passwd);
        assertThrows(UserDb.LookupFailure.class, () -> db.resolve("alice"), "a file that is gone has no entries");
    }

    /**
     * glibc reads these files as bytes: an entry in another encoding (a Latin-1 GECOS "José", as older
     * tools wrote it) is one entry, not a broken file. Read as strict UTF-8, the whole file failed
     * (MalformedInputException, EIO) and so did every user's lookup, the agent's own HOME included.
     */
    @Test
    void anEntryThatIsNotUtf8SpoilsNoOtherEntry() throws Exception {
        byte[] latin1 = "carol:x:3000:3000:Jos\u00e9:/home/carol:/bin/sh\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Files.write(dir.resolve("passwd"), latin1, java.nio.file.StandardOpenOption.APPEND);
        Files.write(dir.resolve("group"), "caf\u00e9:x:80:alice,carol\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                java.nio.file.StandardOpenOption.APPEND);
        assertEquals(1000, db.resolve("alice").uid());
        assertArrayEquals(new int[] {1000, 50, 60, 80}, db.resolve("alice").groups());
        assertEquals("/home/carol", db.resolve("carol").home());
        assertEquals(Optional.of("/root"), db.homeOf(0));
    }

    @Test
    void homeOfAndGroupId() {
        assertEquals(Optional.of("/root"), db.homeOf(0));
        assertEquals(Optional.empty(), db.homeOf(9999));
        assertEquals(OptionalInt.of(5), db.groupId("tty"));
    }
}
