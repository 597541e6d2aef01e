package io.agentd.protocol.payload;

/**
 * core.fs.request: one file system operation; its id ends with a core.fs.response.
 *
 * @param user     extension: run the operation with this user's rights (USER[:GROUP], the rules of
 *                 core.exec.request's {@code user}); null: the agent's own; omitted when null
 * @param extended extension: the host wants the extension fields of the response ({@code errno},
 *                 {@code errno_name}, {@code sha256}); omitted when false
 */
public record FsRequest(FsOp op, String user, boolean extended) implements Payload {
    public FsRequest {
        if (op == null) {
            throw new IllegalArgumentException("op is required");
        }
    }

    /** A request as the reference sends it. */
    public FsRequest(FsOp op) {
        this(op, null, false);
    }
}
