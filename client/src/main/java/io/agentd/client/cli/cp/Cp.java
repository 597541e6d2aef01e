package io.agentd.client.cli.cp;

import io.agentd.client.AgentClient;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.cli.ControlChars;
import io.agentd.client.fs.GuestFiles;
import java.io.IOException;
import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;

/**
 * agentctl cp: copies between the host and the guest of one agent connection, as cp -R and docker
 * cp do (see docs/AGENTCTL.md, "agentctl cp"). Each item that fails is reported on stderr and the
 * rest is still copied; {@link #run} returns 1 when any failed, 0 otherwise, and throws only when
 * the connection to the agent is lost or the agent stops answering (a call's whole timeout without
 * a word: the copy stops there rather than wait as long again for each item left). A tar that
 * cannot be written to stdout stops the copy (1; {@link #EXIT_READER_LEFT} and no message when its
 * reader left), and so does a file of which the guest sent more than {@link TarSink#MAX_PADDING}
 * fewer bytes than its size said (1: the tar is left cut short, see {@link TarCutShort}).
 */
public final class Cp {
    /**
     * A tar to stdout whose reader left ({@code cp :PATH - | head -1}): the copy stops quietly, with
     * the status exec gives when its command dies of the SIGPIPE of such a pipe, and tar(1) itself
     * would (128 + SIGPIPE). The copy is cut short, so not 0; but no error is printed, as for exec,
     * attach, ps and ping: "error writing to standard output: Broken pipe" and 1 was printed before.
     */
    static final int EXIT_READER_LEFT = 128 + 13;

    /**
     * The stack of the thread a copy runs on: Copier goes a level deeper into its own calls per
     * directory, up to {@link Copier#MAX_DEPTH}, and a guest tree that deep overflowed the JVM's
     * default 1 MiB (a StackOverflowError, agentctl's internal error, and a tar left unfinished).
     * Reserved, not used: the pages a shallow copy never touches are never allocated.
     */
    static final long COPY_STACK_BYTES = 64L * 1024 * 1024;

    private final CpOptions options;
    private final InputStream stdin;
    private final OutputStream stdout;
    private final PrintStream err;

    /**
     * @param stdout where {@code cp :PATH -} writes its tar; a stream that throws when a write fails
     *               (a {@link PrintStream} is checked with checkError)
     */
    public Cp(CpOptions options, InputStream stdin, OutputStream stdout, PrintStream err) {
        this.options = options;
        this.stdin = stdin;
        this.stdout = stdout;
        this.err = err;
    }

    /**
     * @throws IOException the connection to the agent was lost, or the agent stopped answering (an
     *                     {@link AgentTimeoutException} whose message ends "; the copy stopped");
     *                     nothing more could be copied
     */
    public int run(AgentClient client) throws IOException {
        return run(client.files());
    }

    /**
     * {@link #run(AgentClient)} through {@code files} (a test's, with a short timeout), on a thread
     * of its own with a stack for the deepest tree ({@link #COPY_STACK_BYTES}); this thread waits
     * for it, and an interrupt of this thread interrupts it.
     */
    int run(GuestFiles files) throws IOException {
        int[] status = new int[1];
        Throwable[] thrown = new Throwable[1];
        Thread copy = new Thread(null, () -> {
            try {
                status[0] = copy(files);
            } catch (Throwable t) {
                thrown[0] = t;
            }
        }, "agentctl-cp", COPY_STACK_BYTES);
        copy.start();
        boolean interrupted = false;
        while (true) {
            try {
                copy.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
                copy.interrupt();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (thrown[0] instanceof IOException e) {
            throw e;
        } else if (thrown[0] instanceof RuntimeException e) {
            throw e;
        } else if (thrown[0] instanceof Error e) {
            throw e;
        }
        return status[0];
    }

    private int copy(GuestFiles files) throws IOException {
        if (options.user() != null) {
            if (!files.extensions()) {
                err.println("agentctl cp: -u: this agent cannot copy as another user (its ready message does"
                        + " not list fs_ext)");
                return 1;
            }
            files = files.as(options.user());
        }
        GuestTree guest = new GuestTree(files);
        HostTree host = new HostTree();
        CpOptions.Direction direction;
        try {
            direction = options.direction();
        } catch (CpOptions.Invalid e) {
            throw new IllegalStateException("checked at parse", e);
        }
        try (CopyProgress progress = CopyProgress.onStderr(err)) {
            Copier copier = new Copier(err, options.archive(), progress);
            switch (direction) {
                case UPLOAD -> copyAll(copier, progress, host, options.sources(), guest,
                        CpOptions.guestPath(options.destination()));
                case DOWNLOAD -> copyAll(copier, progress, guest,
                        options.sources().stream().map(CpOptions::guestPath).toList(), host, options.destination());
                case TAR_IN -> extract(copier, progress, guest, CpOptions.guestPath(options.destination()));
                case TAR_OUT -> archive(copier, progress, guest, CpOptions.guestPath(options.sources().get(0)));
            }
            return copier.failures() > 0 ? 1 : 0;
        } catch (StdoutFailure e) {
            if (e.readerLeft()) {
                return EXIT_READER_LEFT;
            }
            err.println("agentctl cp: " + e.getMessage()); // nothing more can go out
            return 1;
        } catch (TarCutShort e) {
            // It names a guest path and may carry the agent's words.
            err.println("agentctl cp: " + ControlChars.namingGuestText(e.getMessage()));
            return 1;
        } catch (IOException e) {
            throw stopped(e);
        }
    }

    /**
     * The failure that ended the copy, for agentctl's one line. A silent agent's timeout says what
     * went unanswered, and that nothing after it was tried: the connection may still be open, so
     * unlike a lost one that is not plain from the message alone. Any other failure goes as it is.
     */
    private static IOException stopped(IOException e) {
        AgentTimeoutException silence = CopyFailure.agentSilence(e);
        if (silence == null || CopyFailure.isConnectionLoss(e)) {
            return e;
        }
        return new AgentTimeoutException(silence.getMessage() + "; the copy stopped", e);
    }

    private void copyAll(Copier copier, CopyProgress progress, SourceTree src, List<String> sources, DestTree dst,
                         String dstPath) throws IOException {
        if (sources.size() > 1) {
            Entry there;
            try {
                there = dst.stat(dstPath);
            } catch (IOException e) {
                copier.report(CopyFailure.of("cannot access", dst.show(dstPath), e));
                return;
            }
            if (there == null || !there.isDir()) {
                copier.report(new CopyFailure("target " + Quoting.quote(dst.show(dstPath)) + " is not a directory"));
                return;
            }
        }
        if (progress.painting()) {
            long total = 0;
            for (String s : sources) {
                try {
                    total += TreeSize.of(src, s, src.lstat(s));
                } catch (IOException e) {
                    if (CopyFailure.endsTheCopy(e)) {
                        throw e; // each source left would meet it again
                    }
                    // reported by the copy
                }
            }
            progress.setTotal(total);
        }
        for (String s : sources) {
            Entry e = copier.lstat(src, s);
            if (e == null) {
                continue;
            }
            String target = copier.target(src, s, e, dst, dstPath);
            if (target != null) {
                copier.copyOperand(src, s, e, dst, target);
            }
        }
    }

    private void extract(Copier copier, CopyProgress progress, GuestTree guest, String dir) throws IOException {
        Entry there;
        try {
            there = guest.stat(dir);
        } catch (IOException e) {
            copier.report(CopyFailure.of("cannot access", guest.show(dir), e));
            return;
        }
        if (there == null || !there.isDir()) {
            copier.report(new CopyFailure("cannot extract into " + Quoting.quote(guest.show(dir)) + ": "
                    + (there == null ? "No such file or directory" : "Not a directory")));
            return;
        }
        try {
            new TarExtract(copier, guest, progress).extract(stdin, dir);
        } catch (CopyFailure e) {
            copier.report(e); // the stream itself is broken: nothing after it can be read
        }
    }

    private void archive(Copier copier, CopyProgress progress, GuestTree guest, String src) throws IOException {
        Entry e = copier.lstat(guest, src);
        if (e == null) {
            return;
        }
        if (progress.painting()) {
            progress.setTotal(TreeSize.of(guest, src, e));
        }
        BufferedOutputStream out = new BufferedOutputStream(new StdoutStream(stdout), 64 * 1024);
        TarSink sink = new TarSink(out);
        String root = OperandTarget.contentsOnly(src) && e.isDir() ? "" : guest.name(src);
        try {
            copier.copy(guest, src, e, sink, root);
        } catch (TarCutShort cut) {
            out.flush(); // the entries before the cut are whole: a reader extracts them (no end-of-archive follows)
            throw cut;
        }
        sink.finish();
        out.flush();
    }
}
