package io.agentd.agent.fs;

import io.agentd.agent.loop.OutboundQueue;

/**
 * The bounds of the fs service.
 *
 * @param threads      worker threads every fs operation runs on (shared by all connections)
 * @param maxActive    fs requests one connection may have in progress at once; past it a request is
 *                     answered ok:false EAGAIN at once
 * @param chunkBytes   bytes per core.fs.data chunk a Read sends (the protocol allows 3 MiB); by default
 *                     {@link OutboundQueue#DATA_PER_SEGMENT}, so each chunk goes out of a pooled segment
 * @param writeWindow  the credit a flow-controlled Write ({@code window: true}) is kept topped up to
 * @param writeBuffer  Write data the agent holds for one Write of a host without flow control; past
 *                     it the Write fails (ENOBUFS), never leaving a file with holes
 */
public record FsSettings(int threads, int maxActive, int chunkBytes, long writeWindow, long writeBuffer) {
    public static final FsSettings DEFAULTS = new FsSettings(2, 256, OutboundQueue.DATA_PER_SEGMENT, 4 * 1024 * 1024,
            16 * 1024 * 1024);

    public FsSettings {
        if (threads < 1 || maxActive < 1 || chunkBytes < 1 || chunkBytes > io.agentd.protocol.FsLimits.DATA_CHUNK_MAX
                || writeWindow < 1 || writeBuffer < writeWindow) {
            throw new IllegalArgumentException("fs settings out of range: " + threads + ", " + maxActive + ", "
                    + chunkBytes + ", " + writeWindow + ", " + writeBuffer);
        }
    }
}
