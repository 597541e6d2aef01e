package io.agentd.bench;

import io.agentd.client.AgentClient;
import io.agentd.client.ExecResult;
import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * Exec round trips of {@code /bin/true} through an agent that is already serving on a socket, such
 * as a guest's virtio-serial port (scripts/guest/exec-latency boots the guest and runs this):
 * request to exited, one at a time, after a warm-up.
 *
 * <pre>RemoteExecLatency SOCKET [RUNS [WARMUP]]</pre>
 * Prints one line: {@code exec round trip /bin/true: n=RUNS p50=.. p90=.. p99=.. ms}.
 */
public final class RemoteExecLatency {
    private RemoteExecLatency() {}

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        ExecRequest request = ExecRequest.of("/bin/true");
        Samples samples = new Samples(runs);
        try (AgentClient client = AgentClient.connect(socket, Duration.ofSeconds(60))) {
            for (int i = 0; i < warmup + runs; i++) {
                long t0 = System.nanoTime();
                ExecResult result = client.run(request, Duration.ofSeconds(60));
                if (i >= warmup) {
                    samples.add(System.nanoTime() - t0);
                }
                if (result.exitCode() != 0) {
                    throw new IOException("/bin/true exited " + result.exitCode());
                }
            }
        }
        System.out.printf(Locale.ROOT, "exec round trip /bin/true: n=%d p50=%.2f p90=%.2f p99=%.2f ms%n", runs,
                samples.percentile(50) / 1e6, samples.percentile(90) / 1e6, samples.percentile(99) / 1e6);
    }
}
