package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.FsOp;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The agent started with no locale set (the guest's init sets none, nor do systemd units): the
 * JVM's file-name charset was ASCII there, so an fs request for a path past ASCII was refused and an
 * --env value past ASCII reached sessions with U+FFFD in it. The launcher now runs the JVM under
 * C.UTF-8. Names are written in Java escapes so that this file's encoding does not matter.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NoLocaleE2ETest {
    private static final String CAFE = "caf\u00e9";

    @Test
    void pathsAndArgumentsPastAsciiStayUtf8() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/e2e").toAbsolutePath()),
                "no-locale-files-");
        try (AgentProcess agent = AgentProcess.startWithNoLocale("no-locale", "--env", "GREET=" + CAFE);
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            FsHost fs = new FsHost(host);
            fs.ok(new FsOp.Mkdir(dir.resolve(CAFE).toString(), 0755L));
            assertTrue(Files.isDirectory(dir.resolve(CAFE)), "made under its UTF-8 name");

            SessionResult r = host.run(1, ExecRequest.of("sh", "-c", "printf %s \"$GREET\""));
            assertEquals(0, r.exited().code());
            assertEquals(CAFE, new String(r.stdout(), StandardCharsets.UTF_8));
            assertFalse(agent.logText().contains("not UTF-8"), agent.logText());
        }
    }
}
