package io.agentd.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One agentd for every test class of the module that asks for it with
 * {@code @ExtendWith(SharedAgent.class)}: the first such class starts it, and it stops when the
 * whole test run ends (it lives in JUnit's root store), so each class no longer pays an agent's
 * start. An {@link AgentdProcess} parameter (of a test, a {@code @BeforeAll} or {@code @BeforeEach}
 * method) is that agent.
 *
 * <p>For tests that need nothing of a fresh agent: a class sharing it must not kill it, shut it
 * down, or count on what the agent holds (its sessions, their numbers) being only its own. Every
 * test opens connections of its own; the agent ends a connection's sessions when it closes.
 */
final class SharedAgent implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SharedAgent.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == AgentdProcess.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Running running = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(Running.class, k -> Running.start(), Running.class);
        if (!running.agentd.isAlive()) {
            // A later class would otherwise fail with a connection error that hides the cause.
            throw new IllegalStateException("the shared agent is gone (a test must not stop it); its log: "
                    + running.agentd.log);
        }
        return running.agentd;
    }

    /** The agent and its directory, both removed at the end of the run. */
    private record Running(AgentdProcess agentd, Path dir) implements ExtensionContext.Store.CloseableResource {
        static Running start() {
            try {
                Path dir = Files.createTempDirectory("agentd-client-shared");
                return new Running(AgentdProcess.start(dir), dir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start the shared agent", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted starting the shared agent", e);
            }
        }

        @Override
        public void close() throws Exception {
            agentd.close();
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
