package io.agentd.agent.e2e;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One agent for a whole test class: register it as a static {@code @RegisterExtension} field; it
 * starts before the first test and stops after the last. A {@link HostConnection} parameter (of a
 * test or {@code @BeforeEach} method) is a fresh connection past core.ready, closed after that test.
 */
final class SharedAgent implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    private final String name;
    private final String[] options;
    private AgentProcess process;

    SharedAgent(String name, String... options) {
        this.name = name;
        this.options = options;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        process = AgentProcess.start(name, options);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (process != null) {
            process.close();
        }
    }

    AgentProcess process() {
        return process;
    }

    /** A new host connection, past the agent's core.ready. */
    HostConnection connectReady() throws Exception {
        return process.connectReady();
    }

    /** A connection whose core.ready is still to be read. */
    HostConnection connect() throws Exception {
        return process.connect();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == HostConnection.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        try {
            HostConnection host = connectReady();
            // the method-level store closes it when this test ends
            context.getStore(ExtensionContext.Namespace.create(SharedAgent.class, parameter.getIndex()))
                    .put(HostConnection.class, (ExtensionContext.Store.CloseableResource) host::close);
            return host;
        } catch (Exception e) {
            throw new AssertionError("cannot connect to the " + name + " agent", e);
        }
    }
}
