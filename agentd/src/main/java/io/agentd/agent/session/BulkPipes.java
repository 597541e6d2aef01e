package io.agentd.agent.session;

/**
 * The budget of enlarged output pipes. A pipe that fills to its default size is a bulk writer's: it
 * is enlarged so each spliced frame carries more (fewer, larger frames; figures in BENCHMARKS.md),
 * but stalled bulk writers may pin that much kernel memory each, so only so many at once.
 */
final class BulkPipes {
    /** An enlarged pipe's size: the largest spliced frame. */
    static final int BULK_PIPE_BYTES = 1024 * 1024;
    static final int DEFAULT_PIPE_BYTES = 64 * 1024;
    /** At most this many enlarged pipes at once: stalled bulk writers may pin 16 MiB of kernel memory, not more. */
    static final int MAX_BULK_PIPES = 16;

    private final SessionIo io;
    private int enlarged;

    BulkPipes(SessionIo io) {
        this.io = io;
    }

    /** Enlarges a bulk writer's pipe if the budget allows; true when it did. */
    boolean enlarge(int fd) {
        if (enlarged >= MAX_BULK_PIPES || !io.resizePipe(fd, BULK_PIPE_BYTES)) {
            return false;
        }
        enlarged++;
        return true;
    }

    /** An enlarged pipe was closed. */
    void released() {
        enlarged--;
    }

    int enlarged() {
        return enlarged;
    }
}
