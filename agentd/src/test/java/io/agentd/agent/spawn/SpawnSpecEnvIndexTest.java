package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A bad env entry is named by its index in the host's own list, not in the merged environment. */
class SpawnSpecEnvIndexTest {
    private static final SpawnSpec.Defaults AGENT = new SpawnSpec.Defaults() {
        @Override
        public String user() {
            return null;
        }

        @Override
        public String cwd() {
            return null;
        }

        @Override
        public List<String> env() {
            return List.of("AGENT_DEFAULT=1"); // with PATH and LANG: three entries ahead of the host's
        }

        @Override
        public Profile profile() {
            return Profile.DEFAULT;
        }
    };

    private static ExecRequest withEnv(String... env) {
        ExecRequest r = ExecRequest.of("env");
        return new ExecRequest(r.cmd(), r.args(), List.of(env), null, null, false, 24, 80, List.of(), null,
                false, null, null, null, false);
    }

    private static ExecFailed refusal(ExecRequest req) {
        return assertThrows(SpawnFailure.class, () -> SpawnSpec.from(req, AGENT)).failure();
    }

    @Test
    void theIndexIsTheHostsOwn() {
        ExecFailed noEq = refusal(withEnv("NOEQ"));
        assertEquals("bad_args", noEq.kind());
        assertEquals("validate", noEq.stage());
        assertTrue(noEq.message().contains("env[0] has no '='"), noEq.message());

        ExecFailed emptyName = refusal(withEnv("A=1", "=v"));
        assertTrue(emptyName.message().contains("env[1] has an empty name"), emptyName.message());

        // An entry that replaces a default keeps the default's place in the merged list: still the host's index.
        ExecFailed nul = refusal(withEnv("X=1", "Y=2", "PATH=/bin\0"));
        assertTrue(nul.message().contains("env[2] (\"PATH\") contains a NUL byte"), nul.message());
    }

    @Test
    void aGoodEnvStillMerges() throws Exception {
        SpawnSpec spec = SpawnSpec.from(withEnv("A=1"), AGENT);
        assertEquals(List.of("PATH=" + EnvBuilder.DEFAULT_PATH, "LANG=" + EnvBuilder.DEFAULT_LANG,
                "AGENT_DEFAULT=1", "A=1"), spec.env());
    }
}
