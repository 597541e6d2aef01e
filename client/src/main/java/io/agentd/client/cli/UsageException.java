package io.agentd.client.cli;

/** A command line agentctl cannot use: the message goes to stderr with the usage, exit status 2. */
final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
