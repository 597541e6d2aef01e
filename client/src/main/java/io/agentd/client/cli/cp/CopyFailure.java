package io.agentd.client.cli.cp;

import io.agentd.client.AgentRestartedException;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.fs.GuestFileException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.regex.Pattern;

/**
 * One item cp could not copy, worded as cp(1) words it: "cannot stat 'PATH': No such file or
 * directory". The copy goes on with the next item; agentctl then exits 1.
 */
final class CopyFailure extends IOException {
    private static final long serialVersionUID = 1L;
    private static final Pattern OS_ERROR = Pattern.compile("\\s*\\(os error \\d+\\)\\s*$");

    CopyFailure(String what, String shownPath, String why) {
        super(what + " " + Quoting.quote(shownPath) + ": " + why);
    }

    CopyFailure(String message) {
        super(message);
    }

    /**
     * A host path the JVM cannot encode: its file names are decoded and encoded in the locale's
     * charset, ASCII when no UTF-8 locale is set (scripts/agentctl runs it under C.UTF-8 then).
     */
    static CopyFailure unencodable(String what, String shownPath) {
        return new CopyFailure(what, shownPath, "the name cannot be encoded in this locale's charset ("
                + System.getProperty("sun.jnu.encoding", "unknown") + "; set LC_ALL=C.UTF-8)");
    }

    /** The item was written all the same, only some of its attributes not kept: this copy created it. */
    private boolean itemWritten;

    /** This failure, marked {@link #wasItemWritten}. */
    CopyFailure itemWritten() {
        itemWritten = true;
        return this;
    }

    boolean wasItemWritten() {
        return itemWritten;
    }

    /**
     * {@code e} as an item failure; a lost connection, an agent that stopped answering, or stdout
     * that cannot be written, is not one and is thrown as it is.
     */
    static IOException of(String what, String shownPath, IOException e) throws IOException {
        if (endsTheCopy(e)) {
            throw e;
        }
        if (e instanceof CopyFailure) {
            return e;
        }
        return new CopyFailure(what, shownPath, describe(e));
    }

    /**
     * Nothing more can be copied: the connection is lost, the agent stopped answering, stdout
     * cannot take the tar, or the tar was left cut short ({@link TarCutShort}).
     */
    static boolean endsTheCopy(IOException e) {
        return e instanceof StdoutFailure || e instanceof TarCutShort || isConnectionLoss(e)
                || agentSilence(e) != null;
    }

    /**
     * The agent's timeout in {@code e}'s cause chain, or null. An agent that was silent for a whole
     * timeout is taken as hung: going on would wait as long again for every item left (60 s each,
     * hours for a large tree) to report the same silence.
     */
    static AgentTimeoutException agentSilence(Throwable e) {
        return inCauses(e, AgentTimeoutException.class);
    }

    /** The connection (or the agent behind it) is gone: nothing more can be copied. */
    static boolean isConnectionLoss(Throwable e) {
        return inCauses(e, ConnectionLostException.class) != null
                || inCauses(e, AgentRestartedException.class) != null;
    }

    /** The first {@code type} in {@code e}'s cause chain ({@code e} included), or null. */
    private static <T extends Throwable> T inCauses(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    /** ENOENT, on either side. */
    static boolean isNotFound(IOException e) {
        return e instanceof NoSuchFileException
                || e instanceof GuestFileException g && g.kind() == GuestFileException.Kind.NOT_FOUND;
    }

    /**
     * strerror's wording for what went wrong, as far as it is known, printable on a terminal: the
     * agent's message embeds the guest's path raw (and a hostile agent may send any text), which
     * printed as is could set the terminal's title or forge a line of cp's output.
     */
    static String describe(IOException e) {
        return io.agentd.client.cli.ControlChars.escape(reason(e));
    }

    private static String reason(IOException e) {
        if (e instanceof GuestFileException g) {
            return guestReason(g);
        }
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof NotDirectoryException) {
            return "Not a directory";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "File exists";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "Directory not empty";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return String.valueOf(e.getMessage());
    }

    /**
     * The errno's text, or the agent's message when it says more: the agent words a failure "what:
     * strerror (os error N)", the what being the path cp already shows, but some say something of
     * their own ("user \"x\": no such user or group", where the errno is only EINVAL).
     */
    static String guestReason(GuestFileException g) {
        String errnoText = g.description();
        String said = g.agentMessage() == null ? "" : OS_ERROR.matcher(g.agentMessage()).replaceFirst("");
        return said.isEmpty() || said.endsWith(errnoText) ? errnoText : said;
    }
}
