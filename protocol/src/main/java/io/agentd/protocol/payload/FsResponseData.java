package io.agentd.protocol.payload;

import java.util.List;

/** The {@code data} of a successful core.fs.response, externally tagged on the wire. */
public sealed interface FsResponseData {

    /** The variant's name on the wire. */
    String variant();

    /** {"Path": text}: RealPath, ReadLink. */
    record Path(String path) implements FsResponseData {
        public String variant() { return "Path"; }
    }

    /** {"Stat": FsEntryInfo}: Stat, FStat. */
    record Stat(FsEntryInfo info) implements FsResponseData {
        public String variant() { return "Stat"; }
    }

    /** {"List": [FsEntryInfo]}: List, ReadDir ("List" on the wire). */
    record Entries(List<FsEntryInfo> entries) implements FsResponseData {
        public Entries {
            entries = List.copyOf(entries);
        }

        public String variant() { return "List"; }
    }

    /** {"Handle": u64}: OpenFile, OpenDir. */
    record Handle(long handle) implements FsResponseData {
        public String variant() { return "Handle"; }
    }
}
