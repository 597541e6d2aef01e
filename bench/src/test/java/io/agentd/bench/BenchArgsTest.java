package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class BenchArgsTest {

    @Test
    void anUnknownOnlyNameIsAUsageErrorNamingItAndTheKnownOnes() {
        BenchArgs.UsageError e = assertThrows(BenchArgs.UsageError.class,
                () -> BenchArgs.parse(new String[] {"--only", "exec,ptty"}));

        assertEquals("--only: no benchmark named 'ptty' (known: footprint,exec,pty,throughput,stdin,concurrency,"
                + "many-sessions,relay,fs,connections,detached,agentctl)", e.getMessage());
    }

    @Test
    void anEmptyOnlyListIsAUsageErrorNotARunOfNothing() {
        assertThrows(BenchArgs.UsageError.class, () -> BenchArgs.parse(new String[] {"--only", ","}));
        assertThrows(BenchArgs.UsageError.class, () -> BenchArgs.parse(new String[] {"--only", ""}));
    }

    @Test
    void knownNamesAreTakenAndAMissingOrUnknownValueIsAUsageError() throws Exception {
        assertEquals(List.of("pty", "exec"), BenchArgs.parse(new String[] {"--only", "pty,exec"}).only());
        assertThrows(BenchArgs.UsageError.class, () -> BenchArgs.parse(new String[] {"--only"}));
        assertThrows(BenchArgs.UsageError.class,
                () -> BenchArgs.parse(new String[] {"--concurrency-workload", "python"}));
    }
}
