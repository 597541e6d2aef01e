package io.agentd.protocol;

import com.fasterxml.jackson.core.JsonToken;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the payloads of core.fs.request and core.fs.response, with the tolerance of the rest of the
 * codec (any key order, unknown keys skipped, a missing or null optional field defaulted: null for
 * the {@code u64/null} fields, false for bools) and {@link FsLimits}. Enum values are externally
 * tagged: a map with exactly one key, the variant; an unknown or malformed variant is
 * invalid_payload naming it. Every path is measured from its CBOR head before it is built.
 */
final class FsPayloadDecoding {
    private FsPayloadDecoding() {}

    static FsRequest request(CborReader r) throws ProtocolException {
        FsOp op = null;
        String user = null;
        Boolean extended = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "op" -> op = op(r);
                case "user" -> user = boundedText(r, key, true, FsLimits.USER_MAX_BYTES);
                case "extended" -> extended = r.boolOrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new FsRequest(r.required("op", op), user, extended != null && extended);
    }

    /** {"Variant": {fields}}: the variant's key, then its fields, then the end of the one-key map. */
    private static FsOp op(CborReader r) throws ProtocolException {
        r.beginMap("op", r.next("op"));
        String variant = r.nextKey("op");
        if (variant == null) {
            throw r.invalid("op: an empty map names no FsOp variant");
        }
        // Used only for the known variants below, so the host's text is never put in a message unquoted.
        String at = "op." + variant;
        Fields f = new Fields(r, at);
        FsOp op = switch (variant) {
            case "RealPath" -> f.read(List.of("path"), () -> new FsOp.RealPath(f.path("path")));
            case "Stat" -> f.read(List.of("path", "follow_symlink"),
                    () -> new FsOp.Stat(f.path("path"), f.bool("follow_symlink")));
            case "SetStat" -> f.read(List.of("path", "follow_symlink", "attrs"),
                    () -> new FsOp.SetStat(f.path("path"), f.bool("follow_symlink"), f.attrs()));
            case "List" -> f.read(List.of("path"), () -> new FsOp.ListDir(f.path("path")));
            case "ReadLink" -> f.read(List.of("path"), () -> new FsOp.ReadLink(f.path("path")));
            case "Symlink" -> f.read(List.of("target", "link_path"),
                    () -> new FsOp.Symlink(f.path("target"), f.path("link_path")));
            case "Mkdir" -> f.read(List.of("path", "mode"),
                    () -> new FsOp.Mkdir(f.path("path"), f.u32OrNull("mode")));
            case "Remove" -> f.read(List.of("path"), () -> new FsOp.Remove(f.path("path")));
            case "RemoveDir" -> f.read(List.of("path", "recursive"),
                    () -> new FsOp.RemoveDir(f.path("path"), f.bool("recursive")));
            case "Copy" -> f.read(List.of("src", "dst"), () -> new FsOp.Copy(f.path("src"), f.path("dst")));
            case "Rename" -> f.read(List.of("src", "dst"), () -> new FsOp.Rename(f.path("src"), f.path("dst")));
            case "OpenFile" -> f.read(List.of("path", "options"),
                    () -> new FsOp.OpenFile(f.path("path"), f.options()));
            case "OpenDir" -> f.read(List.of("path"), () -> new FsOp.OpenDir(f.path("path")));
            case "CloseHandle" -> f.read(List.of("handle"), () -> new FsOp.CloseHandle(f.u64("handle")));
            case "Read" -> f.read(List.of("handle", "offset", "len"),
                    () -> new FsOp.Read(f.u64("handle"), f.u64("offset"), f.u64OrNull("len")));
            case "Write" -> f.read(List.of("handle", "offset", "len", "window"),
                    () -> new FsOp.Write(f.u64("handle"), f.u64("offset"), f.u64OrNull("len"), f.bool("window")));
            case "ReadDir" -> f.read(List.of("handle", "limit"),
                    () -> new FsOp.ReadDir(f.u64("handle"), f.u32OrNull("limit")));
            case "FStat" -> f.read(List.of("handle"), () -> new FsOp.FStat(f.u64("handle")));
            case "FSetStat" -> f.read(List.of("handle", "attrs"),
                    () -> new FsOp.FSetStat(f.u64("handle"), f.attrs()));
            default -> throw r.invalid("op: unknown FsOp variant " + HostText.quote(variant, HostText.QUOTE_MAX));
        };
        if (r.nextKey("op") != null) {
            throw r.invalid("op: more than one FsOp variant in the map (the first is " + variant + ")");
        }
        return op;
    }

    static FsResponse response(CborReader r) throws ProtocolException {
        Boolean ok = null;
        String error = null;
        FsResponseData data = null;
        Integer errno = null;
        String errnoName = null;
        String sha256 = null;
        r.beginPayloadMap();
        for (String key; (key = r.nextKey("payload")) != null; ) {
            switch (key) {
                case "ok" -> ok = r.boolOrNull(key);
                case "error" -> error = r.textOrNull(key);
                case "data" -> data = responseData(r);
                case "errno" -> errno = r.i32OrNull(key);
                case "errno_name" -> errnoName = r.textOrNull(key);
                case "sha256" -> sha256 = r.textOrNull(key);
                default -> r.skipValue(key);
            }
        }
        return new FsResponse(r.required("ok", ok), error, data, errno, errnoName, sha256);
    }

    private static FsResponseData responseData(CborReader r) throws ProtocolException {
        JsonToken token = r.next("data");
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        r.beginMap("data", token);
        String variant = r.nextKey("data");
        if (variant == null) {
            throw r.invalid("data: an empty map names no FsResponseData variant");
        }
        FsResponseData data = switch (variant) {
            case "Path" -> new FsResponseData.Path(r.text("data.Path"));
            case "Stat" -> new FsResponseData.Stat(entry(r, "data.Stat", r.next("data.Stat")));
            case "List" -> new FsResponseData.Entries(entries(r));
            case "Handle" -> new FsResponseData.Handle(r.u64("data.Handle"));
            default -> throw r.invalid("data: unknown FsResponseData variant "
                    + HostText.quote(variant, HostText.QUOTE_MAX));
        };
        if (r.nextKey("data") != null) {
            throw r.invalid("data: more than one FsResponseData variant in the map");
        }
        return data;
    }

    /** The entries of a List answer; their number is bounded by the frame. */
    private static List<FsEntryInfo> entries(CborReader r) throws ProtocolException {
        JsonToken token = r.next("data.List");
        if (token != JsonToken.START_ARRAY) {
            throw r.expected("data.List", "an array of FsEntryInfo", token);
        }
        List<FsEntryInfo> entries = new ArrayList<>();
        while ((token = r.next("data.List")) != JsonToken.END_ARRAY) {
            entries.add(entry(r, "data.List[" + entries.size() + "]", token));
        }
        return entries;
    }

    private static FsEntryInfo entry(CborReader r, String at, JsonToken token) throws ProtocolException {
        r.beginMap(at, token);
        String path = null;
        String kind = null;
        Long size = null;
        Long mode = null;
        Long modified = null;
        Long uid = null;
        Long gid = null;
        Long atime = null;
        Long mtime = null;
        for (String key; (key = r.nextKey(at)) != null; ) {
            switch (key) {
                case "path" -> path = r.text(at + ".path");
                case "kind" -> kind = r.text(at + ".kind");
                case "size" -> size = r.u64(at + ".size");
                case "mode" -> mode = r.u32(at + ".mode");
                case "modified" -> modified = r.i64OrNull(at + ".modified");
                case "uid" -> uid = r.u32(at + ".uid");
                case "gid" -> gid = r.u32(at + ".gid");
                case "atime" -> atime = r.i64OrNull(at + ".atime");
                case "mtime" -> mtime = r.i64OrNull(at + ".mtime");
                default -> r.skipValue(at, key);
            }
        }
        return new FsEntryInfo(r.required(at + ".path", path), r.required(at + ".kind", kind),
                r.required(at + ".size", size), r.required(at + ".mode", mode), modified,
                r.required(at + ".uid", uid), r.required(at + ".gid", gid), atime, mtime);
    }

    /** A text field of at most {@code maxBytes}, measured from its head before it is built. */
    private static String boundedText(CborReader r, String field, boolean nullable, int maxBytes)
            throws ProtocolException {
        return r.boundedTextHead(field, nullable, maxBytes) < 0 ? null : r.textValue(field);
    }

    /**
     * The fields of one variant's map, read in any order (unknown ones skipped), then handed to the
     * variant's constructor through typed getters that default or refuse a missing one.
     */
    private static final class Fields {
        private final CborReader r;
        private final String at;
        private String path;
        private String target;
        private String linkPath;
        private String src;
        private String dst;
        private Boolean followSymlink;
        private Boolean recursive;
        private Boolean window;
        private Long mode;
        private Long handle;
        private Long offset;
        private Long len;
        private Long limit;
        private FsSetAttrs attrs;
        private FsOpenOptions options;

        /** The variant's keys: a getter for another is a bug in the variant's line above. */
        private List<String> keys = List.of();

        Fields(CborReader r, String at) {
            this.r = r;
            this.at = at;
        }

        @FunctionalInterface
        interface Build {
            FsOp build() throws ProtocolException;
        }

        /**
         * Reads the variant's map, then builds the variant from what it held. Only the variant's own
         * keys are read as fields; any other is skipped unread, as an unknown key is (a "len" in a Stat
         * is no concern of Stat's, whatever its type or size).
         */
        FsOp read(List<String> variantKeys, Build build) throws ProtocolException {
            keys = variantKeys;
            r.beginMap(at, r.next(at));
            for (String key; (key = r.nextKey(at)) != null; ) {
                if (!keys.contains(key)) {
                    r.skipValue(at, key);
                    continue;
                }
                switch (key) {
                    case "path" -> path = boundedText(r, at + ".path", false, FsLimits.PATH_MAX_BYTES);
                    case "target" -> target = boundedText(r, at + ".target", false, FsLimits.PATH_MAX_BYTES);
                    case "link_path" -> linkPath = boundedText(r, at + ".link_path", false, FsLimits.PATH_MAX_BYTES);
                    case "src" -> src = boundedText(r, at + ".src", false, FsLimits.PATH_MAX_BYTES);
                    case "dst" -> dst = boundedText(r, at + ".dst", false, FsLimits.PATH_MAX_BYTES);
                    case "follow_symlink" -> followSymlink = r.boolOrNull(at + ".follow_symlink");
                    case "recursive" -> recursive = r.boolOrNull(at + ".recursive");
                    case "window" -> window = r.boolOrNull(at + ".window");
                    case "mode" -> mode = r.u32OrNull(at + ".mode");
                    case "handle" -> handle = r.u64(at + ".handle");
                    case "offset" -> offset = r.u64(at + ".offset");
                    case "len" -> len = r.u64OrNull(at + ".len");
                    case "limit" -> limit = r.u32OrNull(at + ".limit");
                    case "attrs" -> attrs = attrsMap(at + ".attrs");
                    case "options" -> options = optionsMap(at + ".options");
                    default -> r.skipValue(at, key);
                }
            }
            return build.build();
        }

        String path(String name) throws ProtocolException {
            own(name);
            String value = switch (name) {
                case "path" -> path;
                case "target" -> target;
                case "link_path" -> linkPath;
                case "src" -> src;
                case "dst" -> dst;
                default -> throw new IllegalArgumentException(name);
            };
            return r.required(at + "." + name, value);
        }

        boolean bool(String name) {
            own(name);
            Boolean value = switch (name) {
                case "follow_symlink" -> followSymlink;
                case "recursive" -> recursive;
                case "window" -> window;
                default -> throw new IllegalArgumentException(name);
            };
            return value != null && value;
        }

        long u64(String name) throws ProtocolException {
            own(name);
            Long value = switch (name) {
                case "handle" -> handle;
                case "offset" -> offset;
                default -> throw new IllegalArgumentException(name);
            };
            return r.required(at + "." + name, value);
        }

        Long u64OrNull(String name) {
            own(name);
            if (!name.equals("len")) {
                throw new IllegalArgumentException(name);
            }
            return len;
        }

        Long u32OrNull(String name) {
            own(name);
            return switch (name) {
                case "mode" -> mode;
                case "limit" -> limit;
                default -> throw new IllegalArgumentException(name);
            };
        }

        FsSetAttrs attrs() throws ProtocolException {
            own("attrs");
            return r.required(at + ".attrs", attrs);
        }

        FsOpenOptions options() throws ProtocolException {
            own("options");
            return r.required(at + ".options", options);
        }

        private void own(String name) {
            if (!keys.contains(name)) {
                throw new IllegalStateException(at + " reads " + name + ", not among its keys " + keys);
            }
        }

        private FsSetAttrs attrsMap(String field) throws ProtocolException {
            r.beginMap(field, r.next(field));
            Long m = null;
            Long uid = null;
            Long gid = null;
            Long size = null;
            Long atime = null;
            Long mtime = null;
            for (String key; (key = r.nextKey(field)) != null; ) {
                switch (key) {
                    case "mode" -> m = r.u32OrNull(field + ".mode");
                    case "uid" -> uid = r.u32OrNull(field + ".uid");
                    case "gid" -> gid = r.u32OrNull(field + ".gid");
                    case "size" -> size = r.u64OrNull(field + ".size");
                    case "atime" -> atime = r.i64OrNull(field + ".atime");
                    case "mtime" -> mtime = r.i64OrNull(field + ".mtime");
                    default -> r.skipValue(field, key);
                }
            }
            return new FsSetAttrs(m, uid, gid, size, atime, mtime);
        }

        private FsOpenOptions optionsMap(String field) throws ProtocolException {
            r.beginMap(field, r.next(field));
            boolean read = false;
            boolean write = false;
            boolean append = false;
            boolean create = false;
            boolean truncate = false;
            boolean createNew = false;
            boolean atomic = false;
            Long m = null;
            for (String key; (key = r.nextKey(field)) != null; ) {
                switch (key) {
                    case "read" -> read = isTrue(r.boolOrNull(field + ".read"));
                    case "write" -> write = isTrue(r.boolOrNull(field + ".write"));
                    case "append" -> append = isTrue(r.boolOrNull(field + ".append"));
                    case "create" -> create = isTrue(r.boolOrNull(field + ".create"));
                    case "truncate" -> truncate = isTrue(r.boolOrNull(field + ".truncate"));
                    case "create_new" -> createNew = isTrue(r.boolOrNull(field + ".create_new"));
                    case "mode" -> m = r.u32OrNull(field + ".mode");
                    case "atomic" -> atomic = isTrue(r.boolOrNull(field + ".atomic"));
                    default -> r.skipValue(field, key);
                }
            }
            return new FsOpenOptions(read, write, append, create, truncate, createNew, m, atomic);
        }

        private static boolean isTrue(Boolean b) {
            return b != null && b;
        }
    }
}
