package io.agentd.protocol.payload;

/**
 * core.fs.response (terminal): {@code ok}, a human-readable {@code error} when not, and the
 * operation's {@code data} (null for operations without one).
 *
 * @param errno     extension: the errno of a failure, when it has one; sent only to a request with
 *                  {@code extended: true}, omitted when null
 * @param errnoName extension: that errno's name (e.g. "EACCES"); omitted when null
 * @param sha256    extension: lower-case hex SHA-256 of the bytes a Read sent or a Write wrote;
 *                  omitted when null
 */
public record FsResponse(boolean ok, String error, FsResponseData data, Integer errno, String errnoName,
                         String sha256) implements Payload {

    /** A response as the reference sends it. */
    public FsResponse(boolean ok, String error, FsResponseData data) {
        this(ok, error, data, null, null, null);
    }

    public static FsResponse success(FsResponseData data) {
        return new FsResponse(true, null, data);
    }

    public static FsResponse failure(String error) {
        return new FsResponse(false, error, null);
    }
}
