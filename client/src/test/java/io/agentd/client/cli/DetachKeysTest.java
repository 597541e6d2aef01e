package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;

class DetachKeysTest {
    private static final byte P = 0x10;
    private static final byte Q = 0x11;

    /** Feeds the keys one read at a time, as the terminal delivers them; returns what was forwarded. */
    private static byte[] type(DetachKeys keys, byte[]... reads) {
        ByteArrayOutputStream forwarded = new ByteArrayOutputStream();
        for (byte[] read : reads) {
            forwarded.writeBytes(keys.scan(read, read.length));
        }
        return forwarded.toByteArray();
    }

    @Test
    void theDefaultIsCtrlPCtrlQAndIsFoundAcrossReads() throws Exception {
        DetachKeys keys = DetachKeys.parse(DetachKeys.DEFAULT);
        assertEquals("^P^Q", keys.describe());
        assertArrayEquals(new byte[] {'l', 's'}, type(keys, new byte[] {'l', 's', P}));
        assertFalse(keys.found(), "^P alone is held, not yet a detach");
        assertArrayEquals(new byte[0], type(keys, new byte[] {Q, 'x', 'y'}));
        assertTrue(keys.found());
    }

    @Test
    void keysThatBeginTheSequenceButDoNotFinishItAreForwardedInOrder() throws Exception {
        DetachKeys keys = DetachKeys.parse(DetachKeys.DEFAULT);
        assertArrayEquals(new byte[] {'a', P, 'b', P, P, 'c'}, type(keys, new byte[] {'a', P}, new byte[] {'b', P},
                new byte[] {P, 'c'}));
        assertFalse(keys.found());
        assertArrayEquals(new byte[] {P}, type(keys, new byte[] {P}, new byte[] {P}));
        assertArrayEquals(new byte[0], type(keys, new byte[] {Q}));
        assertTrue(keys.found(), "^P ^P ^Q: the last two are the sequence");
    }

    @Test
    void aSequenceWithARepeatedKeyIsFoundAfterAFalseStart() throws Exception {
        DetachKeys keys = DetachKeys.parse("ctrl-a,ctrl-a,x");
        assertArrayEquals(new byte[] {1}, type(keys, new byte[] {1, 1, 1, 'x'}));
        assertTrue(keys.found());
    }

    /** After a refused detach the keys read behind the sequence are the session's, and the watch starts afresh. */
    @Test
    void aRefusedDetachGivesBackTheKeysAfterTheSequenceAndWatchesAgain() throws Exception {
        DetachKeys keys = DetachKeys.parse(DetachKeys.DEFAULT);
        assertArrayEquals(new byte[] {'a'}, type(keys, new byte[] {'a', P, Q, 'b', P}));
        assertTrue(keys.found());
        assertArrayEquals(new byte[] {'b'}, keys.refused(), "^P is held: it may begin the sequence again");
        assertFalse(keys.found());
        assertArrayEquals(new byte[0], type(keys, new byte[] {Q, 'z'}));
        assertTrue(keys.found(), "the sequence typed again is seen again");
        assertArrayEquals(new byte[] {'z'}, keys.refused());
        assertArrayEquals(new byte[] {'c'}, type(keys, new byte[] {'c'}));
    }

    @Test
    void whatIsHeldAtTheEndOfInputGoesToTheSession() throws Exception {
        DetachKeys keys = DetachKeys.parse("ctrl-p,ctrl-q");
        assertArrayEquals(new byte[] {'a'}, type(keys, new byte[] {'a', P}));
        assertArrayEquals(new byte[] {P}, keys.heldAtEnd());
    }

    @Test
    void specs() throws Exception {
        assertNull(DetachKeys.parse(""), "empty: detaching off");
        assertEquals("^@^[^\\^]^^^_", DetachKeys.parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_").describe());
        assertEquals("^Zq", DetachKeys.parse("CTRL-Z,q").describe());
        for (String bad : new String[] {"ctrl-1", "ctrl-", "pq", " ", ",", "ctrl-p,", "é", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"}) {
            assertThrows(UsageException.class, () -> DetachKeys.parse(bad), bad);
        }
    }
}
