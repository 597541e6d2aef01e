package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RequestedProfileTest {
    @Test
    void aRequestMayOnlyTightenTheAgentsProfile() throws Exception {
        assertEquals(Profile.RESTRICTED, RequestedProfile.resolve(Profile.RESTRICTED, null));
        assertEquals(Profile.STRICT, RequestedProfile.resolve(Profile.DEFAULT, "strict"));
        assertEquals(Profile.RESTRICTED, RequestedProfile.resolve(Profile.RESTRICTED, "restricted"));
        RequestedProfile.Refused looser = assertThrows(RequestedProfile.Refused.class,
                () -> RequestedProfile.resolve(Profile.STRICT, "restricted"));
        assertEquals("permission_denied", looser.failed.kind());
        RequestedProfile.Refused unknown = assertThrows(RequestedProfile.Refused.class,
                () -> RequestedProfile.resolve(Profile.DEFAULT, "Strict\u001b[2J"));
        assertEquals("bad_args", unknown.failed.kind());
        assertTrue(unknown.failed.message().contains("\"Strict\\u001b[2J\""), unknown.failed.message());
    }
}
