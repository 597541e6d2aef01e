package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.ConnectionLostException;
import io.agentd.client.Timeouts;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A guest file written as a stream ({@link GuestFiles#openWrite}). Unbuffered: each write is sent
 * at once, in core.fs.data frames of at most 64 KiB.
 *
 * <p>Flow control: with an agent that grants write credit ({@link GuestFiles#extensions()}) all
 * of the stream is one Write whose data never exceeds the credit, so a write waits while the agent
 * catches up with the disk. Without it the stream is cut into Writes of {@link #SEGMENT_BYTES}, each
 * answered before the next starts, so the agent never holds more than that.
 *
 * <p>{@link #close} ends the data, checks the agent's answer (and its SHA-256 of what it wrote, when
 * it sends one, against what was sent), sets the final attributes and closes the handle, which for
 * an atomic write puts the file in place. {@link #abort} gives up instead: an atomic write then
 * leaves the destination as it was. A failed write or close has already aborted. Not thread-safe.
 *
 * <p>Each of them may wait for the agent (credit, an answer), so on the connection's reader thread
 * (an {@code OutputListener}) they throw IllegalStateException before doing anything: only that
 * thread could deliver what they wait for, and the stream is left as it was for another thread.
 */
public final class GuestOutputStream extends OutputStream {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(GuestOutputStream.class);
    static final int SEGMENT_BYTES = 4 * 1024 * 1024;
    static final int FRAME_BYTES = 64 * 1024;

    private final FsRequests requests;
    private final String path;
    private final long handle;
    private final boolean credit;
    private final boolean atomic;
    private final FsSetAttrs finalAttrs;
    private final MessageDigest digest;
    /** The Write in progress whose end of data is not sent yet; null between Writes. */
    private WriteCall current;
    private FsId currentId;
    /** The abort's spoiling Write (see {@link #spoil}) once started, and whether it is done. */
    private FsCall spoilCall;
    private FsId spoilId;
    private boolean spoiled;
    private long written;
    private boolean closed;

    GuestOutputStream(FsRequests requests, String path, long handle, boolean credit, boolean atomic,
                      FsSetAttrs finalAttrs) {
        this.requests = requests;
        this.path = path;
        this.handle = handle;
        this.credit = credit;
        this.atomic = atomic;
        this.finalAttrs = finalAttrs;
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** Bytes written so far. */
    public long written() {
        return written;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        requests.transport().refuseWaitHere("a write to " + path);
        if (closed) {
            throw new IOException(path + ": stream closed");
        }
        try {
            while (len > 0) {
                if (current == null) {
                    startWrite();
                }
                int want = Math.min(len, FRAME_BYTES);
                if (!credit) {
                    want = (int) Math.min(want, SEGMENT_BYTES - current.sent());
                }
                int n = current.acquire(want, requests.timeout(), path);
                if (n == 0) {
                    finishWrite(); // the agent ended the Write early: that throws its failure
                    throw new AgentException(path + ": the agent ended the write early");
                }
                requests.transport().sendData(currentId.id(), b, off, n, requests.sendDeadline());
                current.sent(n);
                digest.update(b, off, n);
                written += n;
                off += n;
                len -= n;
                if (!credit && current.sent() >= SEGMENT_BYTES) {
                    finishWrite();
                }
            }
        } catch (IOException | RuntimeException e) {
            abortAfter(e);
            throw e;
        }
    }

    /**
     * Starts the next Write. {@code current} is set only once it was sent, so an abort after a
     * failed start (the agent gone) has no Write to end.
     */
    private void startWrite() throws IOException {
        WriteCall call = new WriteCall(credit);
        currentId = requests.start(new FsOp.Write(handle, written, null, credit), call);
        current = call;
    }

    /** Ends the current Write's data and checks the agent's answer. */
    private void finishWrite() throws IOException {
        // A send that timed out leaves the Write current, for the abort to end and retire it.
        requests.transport().endData(currentId.id(), requests.sendDeadline());
        WriteCall call = current;
        current = null;
        FsResponse r = FsCall.await(call.response, requests.timeout(), "write " + path, currentId);
        if (!r.ok()) {
            throw GuestFileException.of(path, r);
        }
        if (r.sha256() != null && credit) { // one Write holds the whole stream only with credit
            String ours = HexFormat.of().formatHex(digest.digest());
            if (!ours.equalsIgnoreCase(r.sha256())) {
                throw new ChecksumMismatchException(path, r.sha256(), ours);
            }
        }
    }

    /** Ends the write: the file is complete (and for an atomic write, in place) when this returns. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        requests.transport().refuseWaitHere("the close of " + path);
        try {
            if (current != null || (credit && written == 0)) {
                if (current == null) {
                    startWrite(); // an empty write, so the agent still reports its SHA-256 of nothing
                }
                finishWrite();
            }
            if (finalAttrs != null) {
                requests.call(new FsOp.FSetStat(handle, finalAttrs), path);
            }
        } catch (IOException | RuntimeException e) {
            abortAfter(e);
            throw e;
        }
        try {
            requests.closeHandle(handle, path);
        } catch (AgentTimeoutException e) {
            if (e.nothingSent()) {
                // The close never went out (another write held the connection all along): the
                // caller is told the write failed, so it is aborted as one (an atomic upload marked
                // failed, then closed, from a thread of its own if need be) rather than left open
                // for the connection's life, to be put in place or not by whatever came next.
                abortAfter(e);
            }
            closed = true;
            throw e;
        }
        closed = true;
    }

    /**
     * Gives up: an atomic write leaves the destination as it was (its temporary file is removed);
     * a write in place leaves what was written so far. Never throws for the agent's refusals; a
     * lost connection ends the handle anyway.
     */
    public void abort() throws ConnectionLostException {
        if (closed) {
            return;
        }
        requests.transport().refuseWaitHere("the abort of the write to " + path);
        closed = true;
        // An interrupt (often what failed the write) would cut the abort's waits for the agent's
        // answers short and skip the close: the temporary file and the handle would stay until the
        // connection ends. Each wait is bounded by the timeout; the flag is put back afterwards.
        boolean interrupted = Thread.interrupted();
        try {
            abortNow();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The abort's steps within the view's timeout. One whose send could not go out in that time (the
     * agent read nothing, or another write held the connection) goes on from that step on a thread
     * of its own, whose sends wait as long as the connection lives: given up, an atomic upload's
     * handle and temporary file would stay open for the connection's life, and one closed without
     * its spoiling Write would put a file cut short in place.
     */
    private void abortNow() throws ConnectionLostException {
        try {
            abortSteps(requests.sendDeadline());
        } catch (ConnectionLostException e) {
            throw e;
        } catch (AgentTimeoutException e) {
            if (e.nothingSent()) {
                Thread rest = new Thread(this::abortRest, "agentd-fs-abort");
                rest.setDaemon(true);
                rest.start();
            } // else an answer did not come: the handle stays until the connection ends, which drops it
        } catch (IOException e) {
            // the handle is spoiled or gone, or could not be marked failed and stays until the
            // connection ends (see spoil): an atomic upload leaves the destination as it was
        }
    }

    private void abortRest() {
        try {
            abortSteps(Timeouts.NO_DEADLINE);
        } catch (IOException | RuntimeException e) {
            log.debug("the abort of the write to {}, finished on its own thread: {}", path, e.toString());
        }
    }

    /** Each step is done once: a call after one whose send timed out goes on from that step. */
    private void abortSteps(long sendDeadline) throws IOException {
        if (current != null) {
            currentId.retire(); // its answer, when it comes, is only the failure this abort makes
            requests.transport().endData(currentId.id(), sendDeadline); // the agent drops the rest of a failed Write
            current = null;
        }
        if (atomic && !spoiled) {
            spoil(sendDeadline);
            spoiled = true;
        }
        requests.closeHandle(handle, path, sendDeadline);
    }

    /**
     * The protocol has no "abandon": a Write whose byte count falls short of its {@code len} fails,
     * and a failed Write marks an atomic handle so that its close drops the temporary file. Only a
     * Write that ran marks it: one the agent refused at once as busy (EAGAIN: the connection's fs
     * requests at their limit) did not, and a close after it put the file, empty or cut short, in
     * place of the destination. So a busy refusal is asked again, within the view's timeout; and
     * when it is not known whether the Write ran (no answer in time, still busy), this throws and
     * the handle is not closed: it stays until the connection ends, which drops its temporary file.
     */
    private void spoil(long sendDeadline) throws IOException {
        long giveUpAt = System.nanoTime() + requests.timeout().toNanos();
        while (true) {
            if (spoilId == null) {
                FsCall call = new FsCall();
                spoilId = requests.start(new FsOp.Write(handle, written, 1L, false), call, sendDeadline);
                spoilCall = call;
            }
            requests.transport().endData(spoilId.id(), sendDeadline);
            FsResponse answer = FsCall.await(spoilCall.response, requests.timeout(), "abort of the write to " + path,
                    spoilId);
            GuestFileException refused = answer.ok() ? null : GuestFileException.of(path, answer);
            if (refused != null && refused.errno() != FsRequests.EAGAIN) {
                return; // it ran and failed: the handle is marked
            }
            if (refused == null || System.nanoTime() - giveUpAt > 0) {
                throw new GuestFileException(path, FsRequests.EAGAIN, "EAGAIN", "the abort of the write to " + path + " could"
                        + " not mark its atomic upload failed (" + (refused == null ? "the agent took an empty Write"
                        : "the agent stayed busy") + "); its handle is left open, the connection's end drops it");
            }
            spoilId = null; // refused before it ran: asked again
            FsRequests.pauseBeforeRetry(path);
        }
    }

    private void abortAfter(Exception e) {
        try {
            abort();
        } catch (ConnectionLostException lost) {
            e.addSuppressed(lost);
        }
    }
}
