package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsOp;

/**
 * The wording of the answers the agent's own stop gives ({@link FsService#agentShuttingDown}):
 * ECANCELED, the errno a stopped request already ends with ({@link FsStop}), and "the agent is
 * shutting down", as an exec request refused then says, with how far the request got where that
 * matters to the host (a Write's bytes in the file, a Read's bytes sent).
 */
final class FsShutdownAnswers {
    static final String WHY = "the agent is shutting down";

    private FsShutdownAnswers() {}

    /** A request that came, or waited for its turn, and was not begun. */
    static FsFailure notBegun(FsOp op) {
        return failure(op.variant() + ": not begun, " + WHY);
    }

    /** A Read stopped after {@code sent} bytes from {@code offset} were queued to its host. */
    static FsFailure read(FsOp.Read read, long sent) {
        return failure("read on handle " + Long.toUnsignedString(read.handle()) + ": " + WHY + "; " + sent
                + " bytes sent from offset " + Long.toUnsignedString(read.offset()) + ", nothing after");
    }

    /** A Copy or RemoveDir stopped before its end (a Copy's destination is left as it was: FsFileCopy). */
    static FsFailure sliced(FsOp op) {
        String left = op instanceof FsOp.Copy ? "; stopped before its end, the destination left as it was"
                : "; stopped before its end, what it had removed stays removed";
        return failure(op.variant() + ": " + WHY + left);
    }

    private static FsFailure failure(String message) {
        return new FsFailure(FsFailure.ECANCELED, message + " (os error " + FsFailure.ECANCELED + ")");
    }
}
