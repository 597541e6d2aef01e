package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A minimal fs client over a {@link HostConnection} for the e2e tests (the real client API is the
 * client module's): one request per fresh id, the response it ends with, uploads and downloads.
 */
final class FsHost {
    private static final AtomicLong IDS = new AtomicLong(5000);

    final HostConnection host;

    FsHost(HostConnection host) {
        this.host = host;
    }

    static long newId() {
        return IDS.incrementAndGet();
    }

    /** Sends {@code request} on a new id and returns its response. */
    FsResponse call(FsRequest request) throws Exception {
        long id = newId();
        host.send(new Frame(id, MessageType.FS_REQUEST, request));
        return (FsResponse) host.expect(id, MessageType.FS_RESPONSE).payload();
    }

    FsResponse call(FsOp op) throws Exception {
        return call(new FsRequest(op, null, true));
    }

    /** The call must succeed; its data. */
    FsResponseData ok(FsOp op) throws Exception {
        FsResponse r = call(op);
        assertTrue(r.ok(), op + " failed: " + r);
        return r.data();
    }

    /** The call must fail with {@code errnoName}; its response. */
    FsResponse fails(FsOp op, String errnoName) throws Exception {
        FsResponse r = call(op);
        assertEquals(false, r.ok(), op + " succeeded: " + r);
        assertEquals(errnoName, r.errnoName(), r.toString());
        return r;
    }

    long open(String path, FsOpenOptions options) throws Exception {
        return ((FsResponseData.Handle) ok(new FsOp.OpenFile(path, options))).handle();
    }

    /**
     * Writes {@code data} at {@code offset} through the Write protocol, within credit when {@code window}.
     * The data goes from a second thread, which stops when the response comes early (a failed Write
     * grants no more credit).
     */
    FsResponse write(long handle, long offset, byte[] data, boolean window, int frameMax) throws Exception {
        long id = newId();
        host.send(new Frame(id, MessageType.FS_REQUEST,
                new FsRequest(new FsOp.Write(handle, offset, (long) data.length, window), null, true)));
        Thread sender = new Thread(() -> {
            try {
                if (window) {
                    host.dataWithinCredit(id, MessageType.FS_DATA, data, frameMax);
                } else {
                    for (int off = 0; off < data.length; off += frameMax) {
                        int n = Math.min(frameMax, data.length - off);
                        host.send(new Frame(id, MessageType.FS_DATA,
                                new ExecData(java.util.Arrays.copyOfRange(data, off, off + n))));
                    }
                }
                host.send(new Frame(id, MessageType.FS_DATA, ExecData.EOF));
            } catch (InterruptedException stopped) {
                // the response came first
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }, "fs-upload");
        sender.setDaemon(true);
        sender.start();
        FsResponse response = (FsResponse) host.expect(id, MessageType.FS_RESPONSE).payload();
        host.cancelCredit(id);
        sender.join();
        return response;
    }

    /** What a Read sent, hashed as it arrives (and kept when {@code keep}). */
    record Download(FsResponse response, long bytes, String sha256, byte[] data, int chunks, int largestChunk) {}

    Download read(long handle, long offset, Long len, boolean keep) throws Exception {
        long id = newId();
        host.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(new FsOp.Read(handle, offset, len), null, true)));
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        long bytes = 0;
        int chunks = 0;
        int largest = 0;
        while (true) {
            Frame f = host.next(id);
            if (f.type() == MessageType.FS_RESPONSE) {
                return new Download((FsResponse) f.payload(), bytes, HexFormat.of().formatHex(sha.digest()),
                        kept.toByteArray(), chunks, largest);
            }
            assertEquals(MessageType.FS_DATA, f.type(), f.toString());
            byte[] d = ((ExecData) f.payload()).data();
            sha.update(d);
            bytes += d.length;
            chunks++;
            largest = Math.max(largest, d.length);
            if (keep) {
                kept.writeBytes(d);
            }
        }
    }
}
