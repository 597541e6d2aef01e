package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.FsListener;
import io.agentd.client.fs.FsTransport;
import io.agentd.client.fs.GuestFiles;
import io.agentd.client.fs.GuestOutputStream;
import io.agentd.client.fs.WriteOptions;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** GuestOutputStream.close whose CloseHandle could not be sent. */
@Timeout(60)
class GuestOutputStreamCloseTest {

    /**
     * The final CloseHandle's send found the connection held all along (nothing sent): close() says
     * so, and the write is aborted as any failed one, its handle closed once the connection has room.
     * Before, the handle stayed open for the connection's life and nothing more was sent.
     */
    @Test
    void aCloseThatCouldNotBeSentAbortsTheWriteAndClosesItsHandleLater() throws Exception {
        List<FsOp> sent = new CopyOnWriteArrayList<>();
        AtomicLong ids = new AtomicLong(1);
        FsTransport agent = new FsTransport() {
            private boolean closeRefused;
            private final java.util.Map<Long, FsListener> writes = new java.util.concurrent.ConcurrentHashMap<>();

            @Override
            public boolean extensions() {
                return false;
            }

            @Override
            public long start(FsRequest request, FsListener listener, long deadline) throws AgentTimeoutException {
                FsOp op = request.op();
                if (op instanceof FsOp.CloseHandle && !closeRefused) {
                    closeRefused = true;
                    throw AgentTimeoutException.notSent("nothing was sent: another write held the connection");
                }
                sent.add(op);
                long id = ids.getAndIncrement();
                if (op instanceof FsOp.Write) {
                    writes.put(id, listener); // answered at the end of its data
                } else {
                    listener.onResponse(op instanceof FsOp.OpenFile ? FsResponse.success(new FsResponseData.Handle(9))
                            : FsResponse.success(null));
                }
                return id;
            }

            @Override
            public void sendData(long id, byte[] data, int off, int len, long deadline) {}

            @Override
            public void endData(long id, long deadline) {
                FsListener write = writes.remove(id);
                if (write != null) {
                    write.onResponse(FsResponse.success(null));
                }
            }

            @Override
            public void retire(long id, FsListener listener) {}
        };
        GuestOutputStream out = GuestFiles.over(agent).openWrite("/f", WriteOptions.DEFAULT);
        out.write(new byte[10]);
        AgentTimeoutException e = assertThrows(AgentTimeoutException.class, out::close);
        assertTrue(e.nothingSent(), e.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sent.stream().noneMatch(op -> op instanceof FsOp.CloseHandle) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, sent.stream().filter(op -> op instanceof FsOp.CloseHandle).count(),
                "the handle is closed by the abort: " + sent);
        out.close(); // closed: nothing more
        assertEquals(1, sent.stream().filter(op -> op instanceof FsOp.CloseHandle).count());
    }
}
