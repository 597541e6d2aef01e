package io.agentd.protocol.payload;

import io.agentd.protocol.MessageType;

/** Which payload record each message type carries. */
public final class Payloads {
    private Payloads() {}

    /** The record class for a type; null for core.shutdown, whose payload is CBOR null. */
    public static Class<? extends Payload> recordFor(MessageType type) {
        return switch (type) {
            case CORE_READY -> Ready.class;
            case CORE_SHUTDOWN -> null;
            case CORE_PING, CORE_PONG, CORE_TOUCH -> Empty.class;
            case CORE_TOUCHED -> Touched.class;
            case CORE_CLOCK_SYNC -> ClockSync.class;
            case CORE_ERROR -> ErrorPayload.class;
            case EXEC_REQUEST -> ExecRequest.class;
            case EXEC_STARTED -> ExecStarted.class;
            case EXEC_STDIN, EXEC_STDOUT, EXEC_STDERR -> ExecData.class;
            case EXEC_STDIN_ERROR -> ExecStdinError.class;
            case EXEC_EXITED -> ExecExited.class;
            case EXEC_FAILED -> ExecFailed.class;
            case EXEC_RESIZE -> ExecResize.class;
            case EXEC_SIGNAL -> ExecSignal.class;
            case EXEC_STDIN_CREDIT -> ExecStdinCredit.class;
            // The extension's paused / resumed notices have the relay notice's {id_start, id_end_exclusive} shape.
            case CORE_RELAY_CLIENT_DISCONNECTED, CORE_RELAY_CLIENT_PAUSED, CORE_RELAY_CLIENT_RESUMED -> RelayClientRange.class;
            case FS_REQUEST -> FsRequest.class;
            // core.fs.data has the {data bytes} shape of the exec data frames, and their zero-copy path.
            case FS_DATA -> ExecData.class;
            case FS_RESPONSE -> FsResponse.class;
            // core.fs.credit has the {bytes u64} shape of core.exec.stdin.credit.
            case FS_CREDIT -> ExecStdinCredit.class;
            // The sessions extension.
            case SESSION_LIST -> Empty.class;
            case SESSION_LIST_RESULT -> SessionListResult.class;
            case SESSION_ATTACH -> SessionAttach.class;
            case SESSION_ATTACHED -> SessionAttached.class;
            case SESSION_DETACH, CORE_RELAY_EXIT_DROPPED -> Empty.class;
            case SESSION_DETACHED -> SessionDetached.class;
        };
    }
}
