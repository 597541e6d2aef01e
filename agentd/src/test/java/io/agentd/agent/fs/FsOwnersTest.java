package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Which owner an id has, from the ranges a relay's notices named. */
class FsOwnersTest {
    private final FsOwners owners = new FsOwners();

    @Test
    void anIdInANamedRangeIsThatClientsAndAnyOtherIdTheConnections() {
        owners.rangeNamed(1, 100);
        owners.rangeNamed(100, 200);
        assertEquals(1, owners.ownerOf(1));
        assertEquals(1, owners.ownerOf(99));
        assertEquals(100, owners.ownerOf(100));
        assertEquals(100, owners.ownerOf(199));
        assertEquals(FsOwners.CONNECTION, owners.ownerOf(200));
        assertEquals(FsOwners.CONNECTION, owners.ownerOf(0));
    }

    /** A range overlapping one named before, with other bounds, is ignored: no handle changes owner. */
    @Test
    void aRangeOverlappingANamedOneIsIgnored() {
        owners.rangeNamed(10, 20);
        owners.rangeNamed(15, 30);
        owners.rangeNamed(5, 11);
        owners.rangeNamed(0, 5); // id 0 is the control channel: never a client's
        owners.rangeNamed(7, 7);
        assertEquals(10, owners.ownerOf(19));
        assertEquals(FsOwners.CONNECTION, owners.ownerOf(25));
        assertEquals(FsOwners.CONNECTION, owners.ownerOf(6));
        assertEquals(FsOwners.CONNECTION, owners.ownerOf(1));
    }

    /** A host cannot grow the table without bound: past MAX_RANGES, new ranges are ignored. */
    @Test
    void theTableIsBounded() {
        for (long i = 0; i < FsOwners.MAX_RANGES + 10; i++) {
            owners.rangeNamed(1 + 2 * i, 2 + 2 * i);
        }
        assertEquals(1 + 2L * (FsOwners.MAX_RANGES - 1), owners.ownerOf(1 + 2L * (FsOwners.MAX_RANGES - 1)));
        assertEquals(FsOwners.CONNECTION, owners.ownerOf(1 + 2L * FsOwners.MAX_RANGES));
    }
}
