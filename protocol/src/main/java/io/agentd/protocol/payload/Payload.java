package io.agentd.protocol.payload;

/**
 * Marker for the payload records. u64 fields are Java longs holding the unsigned value
 * (use Long.compareUnsigned / Long.toUnsignedString; RLIM_INFINITY is -1L == 2^64-1).
 * Optional core fields are null when absent and encoded as CBOR null; extension fields
 * (PROTOCOL.md "Extensions") are null when absent and then omitted from the encoding, so that an
 * old peer's frames re-encode byte-for-byte.
 */
public interface Payload {}
