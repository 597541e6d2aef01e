package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ByteCountTest {
    @Test
    void digitsAndABinaryUnit() {
        assertEquals(OptionalLong.of(4096), ByteCount.parse("4096"));
        assertEquals(OptionalLong.of(64 << 10), ByteCount.parse("64k"));
        assertEquals(OptionalLong.of(512L << 20), ByteCount.parse("512M"));
        assertEquals(OptionalLong.of(2L << 30), ByteCount.parse("2GiB"));
        assertEquals(OptionalLong.of(1L << 20), ByteCount.parse("1mb"));
        assertEquals(OptionalLong.of(0), ByteCount.parse("0"));
        assertEquals(OptionalLong.of(Long.MAX_VALUE), ByteCount.parse(Long.toString(Long.MAX_VALUE)));
    }

    @Test
    void anythingElseIsNoCount() {
        for (String bad : new String[] {"", "k", "-1", "1.5m", "1t", "1 m", "0x10", "9223372036854775808",
                "8589934592g", "99999999999999999999999k"}) {
            assertTrue(ByteCount.parse(bad).isEmpty(), bad);
        }
    }
}
