package io.agentd.client.transport;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Words a failed connect to a unix socket so that it names the path and what is wrong with it: the
 * JDK's own exception says only "No such file or directory" or "Connection refused", whatever the
 * path, and the second also for a path that is a file or a directory. The type stays the JDK's
 * (ConnectException for a refusal), with its exception as the cause.
 */
final class UnixConnectFailure {
    private UnixConnectFailure() {}

    static IOException of(Path path, IOException e) {
        if (e instanceof ClosedByInterruptException) {
            return e; // nothing wrong with the path: the caller was interrupted (AgentClient.connect says so)
        }
        if (e instanceof UnixConnect.TimedOut) {
            return e; // says what is wrong with the path already
        }
        String why;
        if (!Files.exists(path)) {
            why = "no socket at " + path + " (is the agent running, listening on that path?)";
        } else if (!isSocket(path)) {
            why = path + " is not a socket" + (Files.isDirectory(path) ? " but a directory" : "");
        } else if (e instanceof ConnectException) {
            why = "connection refused at " + path + " (nothing listens there: the socket of an agent that is gone?)";
        } else {
            why = "cannot connect to " + path + ": " + e.getMessage();
        }
        IOException worded = e instanceof ConnectException ? new ConnectException(why)
                : e instanceof SocketException ? new SocketException(why) : new IOException(why);
        worded.initCause(e);
        return worded;
    }

    private static boolean isSocket(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return (mode & 0170000) == 0140000; // S_IFSOCK
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return true; // cannot tell: the connect's own error speaks
        }
    }
}
