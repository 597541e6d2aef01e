package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.protocol.payload.FsResponse;

/**
 * The agent could not do a file operation (core.fs.response {@code ok: false}): the guest path it
 * was about, the errno when known (from the response's extension fields, or from the "(os error N)"
 * that ends the agent's message), and the agent's message. {@link #kind} sorts the common errnos.
 */
public final class GuestFileException extends AgentException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, for the errnos a caller commonly acts on. */
    public enum Kind {
        /** ENOENT. */
        NOT_FOUND,
        /** EACCES or EPERM. */
        PERMISSION_DENIED,
        /** EISDIR. */
        IS_A_DIRECTORY,
        /** ENOTDIR. */
        NOT_A_DIRECTORY,
        /** ENOSPC or EDQUOT. */
        NO_SPACE,
        /** EEXIST. */
        ALREADY_EXISTS,
        /** ENOTEMPTY. */
        NOT_EMPTY,
        /** Any other errno, or none. */
        OTHER
    }

    private final String path;
    private final int errno;
    private final String errnoName;
    private final String agentMessage;

    public GuestFileException(String path, int errno, String errnoName, String agentMessage) {
        super(agentMessage == null || agentMessage.isEmpty() ? path + ": failed" : agentMessage);
        this.path = path;
        this.errno = errno;
        this.errnoName = errnoName != null ? errnoName : Errnos.name(errno);
        this.agentMessage = agentMessage;
    }

    /** The exception for a failed response about {@code path}. */
    static GuestFileException of(String path, FsResponse response) {
        int errno = response.errno() != null ? response.errno() : Errnos.fromMessage(response.error());
        if (errno == 0 && response.errnoName() != null) {
            errno = Errnos.number(response.errnoName());
        }
        return new GuestFileException(path, errno, response.errnoName(), response.error());
    }

    /** The guest path the operation was about (the first one, for rename, copy and symlink). */
    public String path() {
        return path;
    }

    /** The errno, or 0 when the agent did not say. */
    public int errno() {
        return errno;
    }

    /** The errno's name ("ENOENT"), or null when not known. */
    public String errnoName() {
        return errnoName;
    }

    /** The agent's message as sent (may be null). */
    public String agentMessage() {
        return agentMessage;
    }

    /** strerror's wording of the errno ("No such file or directory"), else the agent's message. */
    public String description() {
        String d = Errnos.description(errno);
        return d != null ? d : getMessage();
    }

    public Kind kind() {
        String n = errnoName == null ? "" : errnoName;
        return switch (n) {
            case "ENOENT" -> Kind.NOT_FOUND;
            case "EACCES", "EPERM" -> Kind.PERMISSION_DENIED;
            case "EISDIR" -> Kind.IS_A_DIRECTORY;
            case "ENOTDIR" -> Kind.NOT_A_DIRECTORY;
            case "ENOSPC", "EDQUOT" -> Kind.NO_SPACE;
            case "EEXIST" -> Kind.ALREADY_EXISTS;
            case "ENOTEMPTY" -> Kind.NOT_EMPTY;
            default -> Kind.OTHER;
        };
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private GuestFileException(GuestFileException recorded) {
        super(recorded.getMessage(), recorded);
        this.path = recorded.path;
        this.errno = recorded.errno;
        this.errnoName = recorded.errnoName;
        this.agentMessage = recorded.agentMessage;
    }

    @Override
    public GuestFileException forCaller() {
        return new GuestFileException(this);
    }
}
