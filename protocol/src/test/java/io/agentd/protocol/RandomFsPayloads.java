package io.agentd.protocol;

import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Random valid fs payloads for the decoder fuzz tests: every FsOp and FsResponseData variant, every
 * extension field present or absent, values at their range edges.
 */
final class RandomFsPayloads {
    /** The keys of the fs family, for the fuzzers' random maps. */
    static final String[] KEYS = {"op", "RealPath", "Stat", "SetStat", "List", "ReadLink", "Symlink", "Mkdir",
        "Remove", "RemoveDir", "Copy", "Rename", "OpenFile", "OpenDir", "CloseHandle", "Read", "Write", "ReadDir",
        "FStat", "FSetStat", "path", "follow_symlink", "attrs", "mode", "uid", "gid", "size", "atime", "mtime",
        "target", "link_path", "recursive", "src", "dst", "options", "read", "write", "append", "create",
        "truncate", "create_new", "handle", "offset", "len", "limit", "ok", "error", "Path", "Handle", "kind",
        "modified", "window", "atomic", "extended", "sha256"};
    private static final long[] U32_EDGES = {0, 1, 0777, 0x8000_0000L, 0xffff_ffffL};
    private static final long[] I64_EDGES = {0, -1, 1795000000L, Long.MIN_VALUE, Long.MAX_VALUE};

    private final Random random;
    private final Supplier<String> text;
    private final Supplier<Long> u64;

    RandomFsPayloads(Random random, Supplier<String> text, Supplier<Long> u64) {
        this.random = random;
        this.text = text;
        this.u64 = u64;
    }

    FsRequest request() {
        return new FsRequest(op(), random.nextBoolean() ? null : text.get(), random.nextBoolean());
    }

    FsResponse response() {
        boolean ok = random.nextBoolean();
        return new FsResponse(ok, ok ? null : text.get(), ok && random.nextBoolean() ? data() : null,
                random.nextBoolean() ? null : random.nextInt(), random.nextBoolean() ? null : text.get(),
                random.nextBoolean() ? null : text.get());
    }

    FsOp op() {
        return switch (random.nextInt(19)) {
            case 0 -> new FsOp.RealPath(text.get());
            case 1 -> new FsOp.Stat(text.get(), random.nextBoolean());
            case 2 -> new FsOp.SetStat(text.get(), random.nextBoolean(), attrs());
            case 3 -> new FsOp.ListDir(text.get());
            case 4 -> new FsOp.ReadLink(text.get());
            case 5 -> new FsOp.Symlink(text.get(), text.get());
            case 6 -> new FsOp.Mkdir(text.get(), u32OrNull());
            case 7 -> new FsOp.Remove(text.get());
            case 8 -> new FsOp.RemoveDir(text.get(), random.nextBoolean());
            case 9 -> new FsOp.Copy(text.get(), text.get());
            case 10 -> new FsOp.Rename(text.get(), text.get());
            case 11 -> new FsOp.OpenFile(text.get(), new FsOpenOptions(random.nextBoolean(), random.nextBoolean(),
                    random.nextBoolean(), random.nextBoolean(), random.nextBoolean(), random.nextBoolean(),
                    u32OrNull(), random.nextBoolean()));
            case 12 -> new FsOp.OpenDir(text.get());
            case 13 -> new FsOp.CloseHandle(u64.get());
            case 14 -> new FsOp.Read(u64.get(), u64.get(), random.nextBoolean() ? null : u64.get());
            case 15 -> new FsOp.Write(u64.get(), u64.get(), random.nextBoolean() ? null : u64.get(),
                    random.nextBoolean());
            case 16 -> new FsOp.ReadDir(u64.get(), u32OrNull());
            case 17 -> new FsOp.FStat(u64.get());
            default -> new FsOp.FSetStat(u64.get(), attrs());
        };
    }

    private FsResponseData data() {
        return switch (random.nextInt(4)) {
            case 0 -> new FsResponseData.Path(text.get());
            case 1 -> new FsResponseData.Stat(entry());
            case 2 -> {
                List<FsEntryInfo> entries = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    entries.add(entry());
                }
                yield new FsResponseData.Entries(entries);
            }
            default -> new FsResponseData.Handle(u64.get());
        };
    }

    private FsEntryInfo entry() {
        String[] kinds = {FsEntryInfo.FILE, FsEntryInfo.DIR, FsEntryInfo.SYMLINK, FsEntryInfo.OTHER};
        Long mtime = i64OrNull();
        return new FsEntryInfo(text.get(), kinds[random.nextInt(kinds.length)], u64.get(), u32(), mtime, u32(),
                u32(), i64OrNull(), mtime);
    }

    private FsSetAttrs attrs() {
        return new FsSetAttrs(u32OrNull(), u32OrNull(), u32OrNull(), random.nextBoolean() ? null : u64.get(),
                i64OrNull(), i64OrNull());
    }

    private long u32() {
        return random.nextBoolean() ? U32_EDGES[random.nextInt(U32_EDGES.length)] : random.nextInt() & 0xffff_ffffL;
    }

    private Long u32OrNull() {
        return random.nextInt(3) == 0 ? null : u32();
    }

    private Long i64OrNull() {
        if (random.nextInt(3) == 0) {
            return null;
        }
        return random.nextBoolean() ? I64_EDGES[random.nextInt(I64_EDGES.length)] : random.nextLong();
    }
}
