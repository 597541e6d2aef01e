package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.protocol.payload.FsResponse;

/**
 * The frames of one fs request's id, on the connection's reader thread: never block in them (a
 * wait would hold up every session of the connection). Exactly one of {@link #onResponse} and
 * {@link #onFailure} ends the id.
 */
public interface FsListener {

    /** A core.fs.data chunk of a Read; the array is the listener's to keep. */
    void onData(byte[] data);

    /** core.fs.credit: the Write may send {@code bytes} more (an unsigned u64). */
    void onCredit(long bytes);

    /** The core.fs.response that ends the id. */
    void onResponse(FsResponse response);

    /** The id ended without a response: a core.error refusing the request, or the connection's end. */
    void onFailure(AgentException failure);
}
