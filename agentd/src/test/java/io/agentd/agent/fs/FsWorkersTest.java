package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FsWorkersTest {
    @Test
    void theWorkersAreMadeAllAtOnceByTheFirstCallerNotBefore() throws Exception {
        FsWorkers workers = new FsWorkers(2);
        try {
            assertEquals(0, workers.threads(), "no worker before the first fs request");
            CompletableFuture<String> ranOn = new CompletableFuture<>();
            workers.run(() -> ranOn.complete(Thread.currentThread().getName()));
            assertTrue(ranOn.get(10, TimeUnit.SECONDS).startsWith("agentd-fs-"));
            assertEquals(2, workers.threads(), "both made by the first call, none left for a worker to make");
        } finally {
            workers.shutdown();
        }
    }
}
