package io.agentd.client.cli;

import io.agentd.client.ExecSession;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * -it on a raw terminal with detach keys: copies the typed keys into the session, scanning them for
 * the detach sequence, which is not forwarded: agentctl asks the agent to detach the session
 * instead, and the main thread, told by the session's end, says so and exits 0. A refused detach
 * leaves the session attached (one line on stderr says why) and the keys go on to it, those typed
 * after the sequence included: the terminal is still raw, so a copy that stopped reading would
 * leave the user a terminal that answers nothing, not even ^C. Keys are few and typed, so they are
 * read into an array.
 */
final class DetachingKeyCopy {
    /** Reads typed keys into a buffer: the count read, or -1 at the end of input. */
    interface KeyReader {
        int read(ByteBuffer buffer) throws IOException;
    }

    /** Asks the agent to detach the session; true when it did (a refusal was said on stderr, the session kept). */
    interface Detach {
        boolean detach();
    }

    private final KeyReader in;
    private final ExecSession session;
    private final DetachKeys keys;
    private final Detach detach;
    private final int readBytes;

    DetachingKeyCopy(KeyReader in, ExecSession session, DetachKeys keys, Detach detach, int readBytes) {
        this.in = in;
        this.session = session;
        this.keys = keys;
        this.detach = detach;
        this.readBytes = readBytes;
    }

    /** Copies until the end of the keys (true: the session's input ends there) or a detach (false). */
    boolean run() throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(readBytes);
        int n;
        while ((n = in.read(buffer.clear())) > 0) {
            byte[] forward = keys.scan(buffer.array(), n);
            while (true) {
                if (forward.length > 0) {
                    session.writeStdin(forward);
                }
                if (!keys.found()) {
                    break;
                }
                if (detach.detach()) {
                    return false;
                }
                forward = keys.refused();
            }
        }
        byte[] held = keys.heldAtEnd();
        if (held.length > 0) {
            session.writeStdin(held);
        }
        return true;
    }
}
