package io.agentd.agent.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class DirectBufferPoolTest {
    private final DirectBufferPool pool = new DirectBufferPool(4096, 2);

    @Test
    void aBufferGivenBackIsTheNextOneTakenCleared() {
        ByteBuffer first = pool.take();
        assertTrue(first.isDirect());
        assertEquals(4096, first.capacity());
        first.position(100).limit(200);
        pool.give(first);
        ByteBuffer again = pool.take();
        assertSame(first, again);
        assertEquals(0, again.position());
        assertEquals(4096, again.limit());
        assertNotSame(again, pool.take(), "an empty pool makes a new one");
    }

    @Test
    void aBufferGivenBackTwiceIsRefused() {
        ByteBuffer b = pool.take();
        pool.give(b);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> pool.give(b));
        assertEquals(1, pool.freeCount());
    }

    @Test
    void keepsAtMostItsCountAndNothingOfAnotherSize() {
        ByteBuffer a = pool.take();
        ByteBuffer b = pool.take();
        ByteBuffer c = pool.take();
        pool.give(a);
        pool.give(b);
        pool.give(c);
        assertEquals(2, pool.freeCount(), "the third is left to the collector");
        pool.take();
        pool.take();
        pool.give(ByteBuffer.allocateDirect(8192));
        pool.give(ByteBuffer.allocate(4096));
        assertEquals(0, pool.freeCount(), "another size, or a heap buffer, is not kept");
    }
}
