package io.agentd.client.cli;

/**
 * agentctl's exit status for a command that ran: the command's own, but for the input it did not
 * get and the output agentctl could not write. Kept apart from the session's wiring so the rules
 * read (and are tested) in one place.
 */
final class ExitStatuses {
    static final int SIGPIPE = 13;
    static final int SIGKILL = 9;

    private ExitStatuses() {}

    /**
     * agentctl's status: the command's own, except that a command that succeeded without getting
     * all of its input (the agent could not deliver it, or agentctl could not read its own stdin)
     * gives {@link Agentctl#EXIT_STDIN_NOT_DELIVERED}; a command that failed keeps
     * its status, as a pipeline under pipefail keeps the last failure (the message is printed
     * either way).
     */
    static int exitStatus(int commandStatus, boolean stdinNotDelivered) {
        return stdinNotDelivered && commandStatus == 0 ? Agentctl.EXIT_STDIN_NOT_DELIVERED : commandStatus;
    }

    /**
     * As {@link #exitStatus(int, boolean)}, and when agentctl could not write the command's output
     * (other than to a broken pipe), {@link Agentctl#EXIT_OUTPUT_FAILED} unless the command failed
     * of itself: 0, and 141 (the SIGPIPE agentctl sent it to stop it), give way to it.
     */
    static int exitStatus(int commandStatus, boolean stdinNotDelivered, boolean outputFailed) {
        if (outputFailed && (commandStatus == 0 || commandStatus == 128 + SIGPIPE)) {
            return Agentctl.EXIT_OUTPUT_FAILED;
        }
        return exitStatus(commandStatus, stdinNotDelivered);
    }

    /**
     * The command's status as agentctl reports it: one killed for ignoring the SIGPIPE of its
     * broken output ({@code killedForBrokenOutput}) is reported as the SIGPIPE's death, as its
     * pipeline expects.
     */
    static int commandStatus(int reported, boolean killedForBrokenOutput) {
        return killedForBrokenOutput && reported == 128 + SIGKILL ? 128 + SIGPIPE : reported;
    }
}
