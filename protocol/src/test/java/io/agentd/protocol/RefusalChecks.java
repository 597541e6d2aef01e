package io.agentd.protocol;

/** What every refusal the fuzzers meet must satisfy, whatever the input. */
final class RefusalChecks {
    private RefusalChecks() {}

    /**
     * Fails on a refusal that only hides a crash (the codec's safety net turns a RuntimeException
     * of the parser into invalid_payload / malformed_message, so the connection survives a bug, but
     * a fuzzer must report it), or whose id presence does not match its kind.
     */
    static void check(ProtocolException refused) {
        if (refused.getCause() instanceof RuntimeException crash) {
            throw new AssertionError("the codec's safety net caught a parser crash", crash);
        }
        if (refused.kind().losesStream() == refused.hasId()) {
            throw new AssertionError("id presence does not match kind " + refused.kind(), refused);
        }
    }
}
