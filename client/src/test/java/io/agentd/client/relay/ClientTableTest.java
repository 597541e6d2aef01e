package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.nio.channels.SocketChannel;
import org.junit.jupiter.api.Test;

class ClientTableTest {
    @Test
    void slotOfAgreesWithEachSlotsRange() {
        for (int k = 0; k < IdRange.SLOTS; k++) {
            IdRange range = IdRange.slot(k);
            assertEquals(k, ClientTable.slotOf(range.start()), "first id of slot " + k);
            assertEquals(k, ClientTable.slotOf(range.endExclusive() - 1), "last id of slot " + k);
            assertEquals(-1, ClientTable.slotOf(range.endExclusive()), "the id after slot " + k + " (its probe's)");
        }
    }

    @Test
    void slotOfIsNoneOutsideTheSlots() {
        assertEquals(-1, ClientTable.slotOf(0), "the control channel");
        assertEquals(-1, ClientTable.slotOf(-1));
        assertEquals(-1, ClientTable.slotOf(IdRange.SLOTS * IdRange.SPAN + 1), "a restart barrier's id");
        assertEquals(-1, ClientTable.slotOf(AgentFrameRouter.PROBE_ID));
        assertEquals(-1, ClientTable.slotOf(1L << 40));
    }

    @Test
    void ownerOfIsTheClientHoldingTheIdsSlotUntilItIsRemoved() throws IOException {
        ClientTable table = new ClientTable();
        RelayClient c = client(3);
        long id = IdRange.slot(3).start() + 5;
        assertNull(table.ownerOf(id), "a free slot");

        table.add(c);
        assertSame(c, table.ownerOf(id));
        assertSame(c, table.at(3));
        assertNull(table.ownerOf(IdRange.slot(4).start()), "another slot's id");
        assertNull(table.ownerOf(IdRange.slot(3).endExclusive()), "the id between slots");
        assertEquals(1, table.count());

        table.remove(c);
        assertNull(table.ownerOf(id));
        assertNull(table.at(3));
        assertEquals(0, table.count());
        c.closeConnection();
    }

    @Test
    void closeAllClosesEveryClientAndCountsNone() throws IOException {
        ClientTable table = new ClientTable();
        RelayClient a = client(0);
        RelayClient b = client(IdRange.SLOTS - 1);
        table.add(a);
        table.add(b);

        table.closeAll();

        assertFalse(a.channel.isOpen());
        assertFalse(b.channel.isOpen());
        assertEquals(0, table.count());
        assertNull(table.at(0), "a closed client is no longer in the table");
        assertNull(table.ownerOf(IdRange.slot(IdRange.SLOTS - 1).start()));
    }

    private static RelayClient client(int slot) throws IOException {
        return new RelayClient(SocketChannel.open(StandardProtocolFamily.UNIX), null, slot, new ChunkPool(),
                new OutQueue.Total());
    }
}
