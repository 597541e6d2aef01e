package io.agentd.testkit;

/**
 * What a guest showed up to a test's failure: the console's tail and the agent's log lines. Added by
 * {@link GuestVmExtension} to the failure as a suppressed exception, so test reports print it under
 * the failure. It has no stack trace of its own: its message is the content.
 */
public final class GuestDiagnostics extends Exception {
    private static final long serialVersionUID = 1L;

    public GuestDiagnostics(String text) {
        super(text, null, false, false);
    }
}
