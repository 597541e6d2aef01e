package io.agentd.agent.fs;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;

/**
 * A Copy or RemoveDir begun on a worker ({@link FsOperations#begin}), which {@link FsSlicedRequest}
 * goes on with a slice at a time, each a worker task of its own, until it is done; then, or once it
 * fails or its owner leaves, it is closed, on a worker with the request's rights. Its I/O failures
 * are answered as {@code what}'s, as the operation run in one piece answered them.
 */
final class FsSlicedWork {
    /** What goes on over several slices: a file's bytes, a tree's entries. */
    interface Steps {
        /** Steps until done (true) or {@code slice} is over (false); ECANCELED once its owner left ({@link FsStop}). */
        boolean goOn(FsSlice slice) throws IOException, FsFailure;

        /** Lets go of what it holds, undoing what it made and did not finish (a temporary file); once, never throwing. */
        void close();
    }

    /** The steps of work done already where it was begun (a link copied, an empty directory removed). */
    static final Steps NOTHING_LEFT = new Steps() {
        @Override
        public boolean goOn(FsSlice slice) {
            return true;
        }

        @Override
        public void close() {}
    };

    private final String what;
    private final Steps steps;
    /** The directories the work acts in (NoMagicLinks.Above), closed after the steps. */
    private final Runnable closeHeld;
    private volatile boolean closed;

    /** {@code steps}, whose I/O failures say {@code what}, in directories {@code closeHeld} closes. */
    FsSlicedWork(String what, Steps steps, Runnable closeHeld) {
        this.what = what;
        this.steps = steps;
        this.closeHeld = closeHeld;
    }

    /** One slice: true when the work is done. */
    boolean goOn(FsSlice slice) throws FsFailure {
        try {
            return steps.goOn(slice);
        } catch (DirectoryIteratorException e) {
            throw FsErrors.from(e.getCause(), what);
        } catch (IOException e) {
            throw FsErrors.from(e, what);
        }
    }

    /** Whether {@link #close} has run (on whichever thread ran it last; the loop reads it after that task's outcome). */
    boolean isClosed() {
        return closed;
    }

    /** Closes it, once: the steps, then the directories they acted in. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            steps.close();
        } finally {
            closeHeld.run();
        }
    }
}
