package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/**
 * The provider the launcher names (-Dslf4j.provider): what it builds must log as logback's own
 * provider does after finding {@link Logging.Console}, since a JVM without the property gets that.
 */
class LoggingProviderTest {

    @Test
    void itsLoggersWriteTheAgentsLinesToStderrAtInfo() {
        Logging.Provider provider = new Logging.Provider();
        PrintStream stderr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            // The console appender writes to whatever System.err is when a line is logged.
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            provider.initialize();
            Logger log = provider.getLoggerFactory().getLogger("io.agentd.agent.Connection");
            log.debug("not at info");
            log.info("host {} connected: café", 3);
        } finally {
            System.setErr(stderr);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertTrue(text.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\S* INFO  Connection: host 3 connected: café"
                + System.lineSeparator()), "one INFO line in the agent's format, UTF-8, nothing else: " + text);
    }

    @Test
    void itGivesSlf4jAMarkerFactoryAndAnMdcAdapter() {
        Logging.Provider provider = new Logging.Provider();
        provider.initialize();
        assertNotNull(provider.getMarkerFactory().getMarker("m"));
        provider.getMDCAdapter().put("k", "v");
        assertEquals("v", provider.getMDCAdapter().get("k"));
        assertEquals("2.0.99", provider.getRequestedApiVersion());
    }
}
