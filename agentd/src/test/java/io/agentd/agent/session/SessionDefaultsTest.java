package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.spawn.Profile;
import io.agentd.agent.spawn.UserDb;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The start's look at --user and --cwd, against this machine's real user database and file system. */
class SessionDefaultsTest {

    private static SessionDefaults with(String user, String cwd) {
        return new SessionDefaults(user, cwd, List.of(), Profile.DEFAULT, 250, 2000, 1024, 4096);
    }

    @Test
    void defaultsThatResolveOrAreAbsentGiveNoLine() {
        assertEquals(List.of(), with(null, null).unusableNow(UserDb.system()));
        assertEquals(List.of(), with("root", "/").unusableNow(UserDb.system()));
        assertEquals(List.of(), with("0:0", "/tmp").unusableNow(UserDb.system()));
        // A numeric uid needs no passwd entry (it runs with gid = uid), as at a request.
        assertEquals(List.of(), with("4000123", null).unusableNow(UserDb.system()));
    }

    @Test
    void aMissingUserGroupOrDirectoryIsOneLineEach() {
        List<String> lines = with("agentd-no-such-user", "/no/such/dir").unusableNow(UserDb.system());
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("--user agentd-no-such-user names a user that does not exist: requests"
                + " that name no user of their own will fail"), lines.get(0));
        assertTrue(lines.get(1).startsWith("--cwd /no/such/dir is not a directory"), lines.get(1));

        List<String> group = with("root:agentd-no-such-group", "/etc/passwd").unusableNow(UserDb.system());
        assertEquals(2, group.size(), group.toString());
        assertTrue(group.get(0).contains("names a group that does not exist"), group.get(0));
        assertTrue(group.get(1).startsWith("--cwd /etc/passwd is not a directory"), group.get(1));
    }
}
