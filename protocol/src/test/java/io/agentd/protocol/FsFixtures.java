package io.agentd.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** The fs family's payload records built from a fixture's JSON payload (for {@link Fixtures#payload}). */
final class FsFixtures {
    private FsFixtures() {}

    static FsRequest request(JsonNode p) {
        return new FsRequest(op(field(p, "op")), p.has("user") ? p.get("user").asText() : null,
                p.has("extended") && p.get("extended").asBoolean());
    }

    static FsResponse response(JsonNode p) {
        JsonNode data = field(p, "data");
        return new FsResponse(field(p, "ok").asBoolean(), text(p, "error"), data.isNull() ? null : data(data),
                p.has("errno") ? p.get("errno").asInt() : null,
                p.has("errno_name") ? p.get("errno_name").asText() : null,
                p.has("sha256") ? p.get("sha256").asText() : null);
    }

    private static FsOp op(JsonNode tagged) {
        Map.Entry<String, JsonNode> variant = only(tagged);
        JsonNode f = variant.getValue();
        return switch (variant.getKey()) {
            case "RealPath" -> new FsOp.RealPath(text(f, "path"));
            case "Stat" -> new FsOp.Stat(text(f, "path"), bool(f, "follow_symlink"));
            case "SetStat" -> new FsOp.SetStat(text(f, "path"), bool(f, "follow_symlink"), attrs(field(f, "attrs")));
            case "List" -> new FsOp.ListDir(text(f, "path"));
            case "ReadLink" -> new FsOp.ReadLink(text(f, "path"));
            case "Symlink" -> new FsOp.Symlink(text(f, "target"), text(f, "link_path"));
            case "Mkdir" -> new FsOp.Mkdir(text(f, "path"), optionalLong(f, "mode"));
            case "Remove" -> new FsOp.Remove(text(f, "path"));
            case "RemoveDir" -> new FsOp.RemoveDir(text(f, "path"), bool(f, "recursive"));
            case "Copy" -> new FsOp.Copy(text(f, "src"), text(f, "dst"));
            case "Rename" -> new FsOp.Rename(text(f, "src"), text(f, "dst"));
            case "OpenFile" -> new FsOp.OpenFile(text(f, "path"), options(field(f, "options")));
            case "OpenDir" -> new FsOp.OpenDir(text(f, "path"));
            case "CloseHandle" -> new FsOp.CloseHandle(u64(f, "handle"));
            case "Read" -> new FsOp.Read(u64(f, "handle"), u64(f, "offset"), optionalLong(f, "len"));
            case "Write" -> new FsOp.Write(u64(f, "handle"), u64(f, "offset"), optionalLong(f, "len"),
                    f.has("window") && f.get("window").asBoolean());
            case "ReadDir" -> new FsOp.ReadDir(u64(f, "handle"), optionalLong(f, "limit"));
            case "FStat" -> new FsOp.FStat(u64(f, "handle"));
            case "FSetStat" -> new FsOp.FSetStat(u64(f, "handle"), attrs(field(f, "attrs")));
            default -> throw new AssertionError("fixture FsOp variant " + variant.getKey());
        };
    }

    private static FsResponseData data(JsonNode tagged) {
        Map.Entry<String, JsonNode> variant = only(tagged);
        JsonNode v = variant.getValue();
        return switch (variant.getKey()) {
            case "Path" -> new FsResponseData.Path(v.asText());
            case "Stat" -> new FsResponseData.Stat(entry(v));
            case "List" -> {
                List<FsEntryInfo> entries = new ArrayList<>();
                v.forEach(e -> entries.add(entry(e)));
                yield new FsResponseData.Entries(entries);
            }
            case "Handle" -> new FsResponseData.Handle(v.bigIntegerValue().longValue());
            default -> throw new AssertionError("fixture FsResponseData variant " + variant.getKey());
        };
    }

    private static FsEntryInfo entry(JsonNode e) {
        return new FsEntryInfo(text(e, "path"), text(e, "kind"), u64(e, "size"), u64(e, "mode"),
                optionalLong(e, "modified"), u64(e, "uid"), u64(e, "gid"), optionalLong(e, "atime"),
                optionalLong(e, "mtime"));
    }

    private static FsSetAttrs attrs(JsonNode a) {
        return new FsSetAttrs(optionalLong(a, "mode"), optionalLong(a, "uid"), optionalLong(a, "gid"),
                optionalLong(a, "size"), optionalLong(a, "atime"), optionalLong(a, "mtime"));
    }

    private static FsOpenOptions options(JsonNode o) {
        return new FsOpenOptions(bool(o, "read"), bool(o, "write"), bool(o, "append"), bool(o, "create"),
                bool(o, "truncate"), bool(o, "create_new"), optionalLong(o, "mode"),
                o.has("atomic") && o.get("atomic").asBoolean());
    }

    private static Map.Entry<String, JsonNode> only(JsonNode tagged) {
        Iterator<Map.Entry<String, JsonNode>> it = tagged.fields();
        Map.Entry<String, JsonNode> variant = it.next();
        if (it.hasNext()) {
            throw new AssertionError("an externally tagged value has one key: " + tagged);
        }
        return variant;
    }

    private static JsonNode field(JsonNode p, String name) {
        JsonNode value = p.get(name);
        if (value == null) {
            throw new AssertionError("fixture payload lacks " + name + ": " + p);
        }
        return value;
    }

    private static String text(JsonNode p, String name) {
        JsonNode value = field(p, name);
        return value.isNull() ? null : value.asText();
    }

    private static boolean bool(JsonNode p, String name) {
        return field(p, name).asBoolean();
    }

    private static long u64(JsonNode p, String name) {
        return field(p, name).bigIntegerValue().longValue();
    }

    private static Long optionalLong(JsonNode p, String name) {
        JsonNode value = field(p, name);
        return value.isNull() ? null : value.asLong();
    }
}
