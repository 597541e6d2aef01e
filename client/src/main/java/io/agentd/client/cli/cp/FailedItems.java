package io.agentd.client.cli.cp;

import io.agentd.client.cli.ControlChars;
import java.io.IOException;
import java.io.PrintStream;

/**
 * The items a copy could not copy: each reported on stderr (cp(1)'s wording) and counted while the
 * rest is still copied; agentctl then exits 1. A failure that {@linkplain CopyFailure#endsTheCopy
 * ends the copy} is thrown instead.
 */
final class FailedItems {
    private final PrintStream err;
    private int count;

    FailedItems(PrintStream err) {
        this.err = err;
    }

    int count() {
        return count;
    }

    void report(IOException failure) throws IOException {
        if (CopyFailure.endsTheCopy(failure)) {
            throw failure;
        }
        count++;
        // A failure names guest paths and carries the agent's words: both the guest's to choose.
        err.println("agentctl cp: " + ControlChars.namingGuestText(failure instanceof CopyFailure ? failure.getMessage()
                : CopyFailure.describe(failure)));
    }
}
