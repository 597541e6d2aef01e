package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.Os;

/**
 * What one readiness of a link's fd does: the host's arrival (a port's host side can be absent: the
 * first readiness without a hang-up says it came), its input read, its output written, and its
 * hang-up, taken after what it sent. {@link #hangUpIfGone} runs the same hang-up by hand, for a host
 * whose end is closed before epoll says so. Static, on the {@link PortLink} it is given: the link's
 * one handler per attach ({@link PortLink#attach}) calls it, and nothing is made per event. Loop
 * thread only.
 */
final class LinkReadiness {
    private LinkReadiness() {
    }

    /** The link's fd is ready: {@code events} is a mask of {@link Loop}'s event bits. */
    static void onEvents(PortLink link, int events) {
        LinkReader reader = link.reader();
        reader.startSlice();
        if (link.probing()) {
            // Only a port's host side can be absent. A socket's host is there from its accept: one
            // that wrote and closed before this first event has its frames read below, then the hang-up.
            if ((events & Loop.HANGUP) != 0 && link.resync() == PortLink.Resync.SKIP) {
                link.hangup("host side not connected");
                return;
            }
            link.hostCame();
            writeTheGreetingFirst(link, events);
        }
        if ((events & Loop.HANGUP) != 0 && reader.hangUpWaits()) {
            // Frames wait for a later turn, or for a command of this host's to start: the hang-up
            // waits with them (epoll reports it again once the port is read again), and so does a
            // write, which would fail on the gone host (EPIPE) and drop them.
            if (reader.waitsForStart()) {
                reader.hangUpWhileStarting();
            }
            return;
        }
        if ((events & Loop.HANGUP) != 0) {
            // Take what the host sent before it went away, then let the transport decide. (A host
            // whose input is paused has the frames it sent past the pause dropped, logged: it read
            // none of their answers, and what they would queue has no bound.)
            while (link.connected() && !link.dropping() && reader.read()) {
                // keep reading
            }
            if (link.connected() && reader.waitsForStart()) {
                reader.hangUpWhileStarting(); // a frame read above starts a command: the hang-up follows it
            } else if (link.connected() && !reader.hangUpWaits()) {
                link.hangup(reader.withDroppedInput("hang-up"));
            }
            return;
        }
        if (link.connected() && link.registration().reading()
                && (events & (Loop.READABLE | Loop.ERROR)) != 0) {
            if (reader.waitsForStart()) {
                link.registration().setRead(false); // more came during the start: read once it is answered
            } else {
                reader.read();
            }
        }
        if (link.connected() && link.registration().writing()
                && (events & (Loop.WRITABLE | Loop.ERROR)) != 0) {
            link.writer().flush();
        }
    }

    /**
     * On a port, what the connect queued (core.ready) is written before the host's first input is
     * read. A port's host may have written long before the guest opened the port (agentctl's pings
     * while it waits for ready, which QEMU holds until then): decoding and answering those, the
     * agent's first frames under a cold JIT, is slow under TCG (BENCHMARKS.md), and the ready that the
     * host waits for was written after them, at the end of the turn. Not on a socket: one whose host
     * wrote and closed before this first event has its frames read first, and a vsock peer's close is
     * no hang-up to epoll (readable, writable, RDHUP), so the write would fail with EPIPE and end the
     * link before they were read. Nor on a port's hang-up, for the same reason.
     */
    private static void writeTheGreetingFirst(PortLink link, int events) {
        LinkWriter writer = link.writer();
        if (link.resync() != PortLink.Resync.SKIP || !link.connected() || writer.isEmpty()
                || (events & Loop.HANGUP) != 0 || (events & Loop.WRITABLE) == 0) {
            return;
        }
        writer.flushNow();
    }

    /**
     * See {@link HostOutput#hangUpIfGone}: the host's end is asked with poll(2), and its hang-up runs
     * as epoll would have run it (its last frames dispatched first, in order). A host that is gone
     * sends nothing more, so what it left is bounded (what the kernel holds for it and the bytes the
     * link holds): all of it is dispatched here, slice after slice, without waiting for later turns
     * (frames that waited for the next turn too), and the hang-up follows. False when the host's end
     * is open, or the link is not connected or drops its host already, or a command of the host's is
     * being started (the hang-up follows that, in a later turn: what the caller wanted to see first
     * is not there yet).
     */
    static boolean hangUpIfGone(PortLink link) {
        if (!link.connected() || link.dropping() || link.reader().waitsForStart()
                || !Os.peerClosed(link.registration().fd())) {
            return false;
        }
        LinkReader reader = link.reader();
        if (!reader.framesWaitForNextTurn()) {
            onEvents(link, Loop.HANGUP);
        }
        // Every pass dispatches at least one frame, and the gone host adds none: this ends.
        while (link.connected() && !link.dropping() && reader.framesWaitForNextTurn()) {
            reader.dispatchWaitingNow(); // what the slice left, in order, in a fresh slice
            if (link.connected() && !link.dropping() && !reader.framesWaitForNextTurn()) {
                onEvents(link, Loop.HANGUP); // the rest of its input, then the hang-up
            }
        }
        return link.detached();
    }
}
