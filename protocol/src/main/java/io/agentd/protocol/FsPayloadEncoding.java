package io.agentd.protocol;

import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;

/**
 * Writes core.fs.request and core.fs.response as the reference does: external tagging, each
 * variant's fields in the order of PROTOCOL.md's table, absent values as null; the extension fields
 * (docs/PROTOCOL-EXTENSIONS.md, "fs extensions") after the base ones and omitted when absent, so
 * the frames of an exchange without extensions are byte for byte the reference's.
 */
final class FsPayloadEncoding {
    private static final long U32_MAX = 0xFFFF_FFFFL;

    private FsPayloadEncoding() {}

    static void request(FsRequest q, CborWriter w) {
        w.map(1 + (q.user() == null ? 0 : 1) + (q.extended() ? 1 : 0));
        w.text("op");
        op(q.op(), w);
        if (q.user() != null) {
            w.text("user");
            w.text(q.user());
        }
        if (q.extended()) {
            w.text("extended");
            w.bool(true);
        }
    }

    private static void op(FsOp op, CborWriter w) {
        w.map(1);
        w.text(op.variant());
        if (op instanceof FsOp.RealPath o) {
            path(o.path(), w);
        } else if (op instanceof FsOp.Stat o) {
            w.map(2);
            text("path", o.path(), w);
            w.text("follow_symlink");
            w.bool(o.followSymlink());
        } else if (op instanceof FsOp.SetStat o) {
            w.map(3);
            text("path", o.path(), w);
            w.text("follow_symlink");
            w.bool(o.followSymlink());
            w.text("attrs");
            attrs(o.attrs(), w);
        } else if (op instanceof FsOp.ListDir o) {
            path(o.path(), w);
        } else if (op instanceof FsOp.ReadLink o) {
            path(o.path(), w);
        } else if (op instanceof FsOp.Symlink o) {
            w.map(2);
            text("target", o.target(), w);
            text("link_path", o.linkPath(), w);
        } else if (op instanceof FsOp.Mkdir o) {
            w.map(2);
            text("path", o.path(), w);
            w.text("mode");
            u32OrNull("mode", o.mode(), w);
        } else if (op instanceof FsOp.Remove o) {
            path(o.path(), w);
        } else if (op instanceof FsOp.RemoveDir o) {
            w.map(2);
            text("path", o.path(), w);
            w.text("recursive");
            w.bool(o.recursive());
        } else if (op instanceof FsOp.Copy o) {
            srcDst(o.src(), o.dst(), w);
        } else if (op instanceof FsOp.Rename o) {
            srcDst(o.src(), o.dst(), w);
        } else if (op instanceof FsOp.OpenFile o) {
            w.map(2);
            text("path", o.path(), w);
            w.text("options");
            options(o.options(), w);
        } else if (op instanceof FsOp.OpenDir o) {
            path(o.path(), w);
        } else if (op instanceof FsOp.CloseHandle o) {
            handleOnly(o.handle(), w);
        } else if (op instanceof FsOp.Read o) {
            w.map(3);
            handleAndOffset(o.handle(), o.offset(), w);
            w.text("len");
            u64OrNull(o.len(), w);
        } else if (op instanceof FsOp.Write o) {
            w.map(3 + (o.window() ? 1 : 0));
            handleAndOffset(o.handle(), o.offset(), w);
            w.text("len");
            u64OrNull(o.len(), w);
            if (o.window()) {
                w.text("window");
                w.bool(true);
            }
        } else if (op instanceof FsOp.ReadDir o) {
            w.map(2);
            w.text("handle");
            w.u64(o.handle());
            w.text("limit");
            u32OrNull("limit", o.limit(), w);
        } else if (op instanceof FsOp.FStat o) {
            handleOnly(o.handle(), w);
        } else if (op instanceof FsOp.FSetStat o) {
            w.map(2);
            w.text("handle");
            w.u64(o.handle());
            w.text("attrs");
            attrs(o.attrs(), w);
        }
    }

    static void response(FsResponse s, CborWriter w) {
        w.map(3 + (s.errno() == null ? 0 : 1) + (s.errnoName() == null ? 0 : 1) + (s.sha256() == null ? 0 : 1));
        w.text("ok");
        w.bool(s.ok());
        w.text("error");
        w.textOrNull(s.error());
        w.text("data");
        if (s.data() == null) {
            w.nul();
        } else {
            data(s.data(), w);
        }
        if (s.errno() != null) {
            w.text("errno");
            w.signed(s.errno());
        }
        if (s.errnoName() != null) {
            w.text("errno_name");
            w.text(s.errnoName());
        }
        if (s.sha256() != null) {
            w.text("sha256");
            w.text(s.sha256());
        }
    }

    private static void data(FsResponseData data, CborWriter w) {
        w.map(1);
        w.text(data.variant());
        if (data instanceof FsResponseData.Path d) {
            w.text(PayloadEncoding.required("data.Path", d.path()));
        } else if (data instanceof FsResponseData.Stat d) {
            entry(d.info(), w);
        } else if (data instanceof FsResponseData.Entries d) {
            w.array(d.entries().size());
            for (FsEntryInfo e : d.entries()) {
                entry(e, w);
            }
        } else if (data instanceof FsResponseData.Handle d) {
            w.u64(d.handle());
        }
    }

    private static void entry(FsEntryInfo e, CborWriter w) {
        if (e == null) {
            throw new IllegalArgumentException("FsEntryInfo is required");
        }
        w.map(9);
        w.text("path");
        w.text(e.path());
        w.text("kind");
        w.text(e.kind());
        w.text("size");
        w.u64(e.size());
        w.text("mode");
        w.u64(PayloadEncoding.inRange("mode", e.mode(), 0, U32_MAX));
        w.text("modified");
        signedOrNull(e.modified(), w);
        w.text("uid");
        w.u64(PayloadEncoding.inRange("uid", e.uid(), 0, U32_MAX));
        w.text("gid");
        w.u64(PayloadEncoding.inRange("gid", e.gid(), 0, U32_MAX));
        w.text("atime");
        signedOrNull(e.atime(), w);
        w.text("mtime");
        signedOrNull(e.mtime(), w);
    }

    private static void attrs(FsSetAttrs a, CborWriter w) {
        if (a == null) {
            throw new IllegalArgumentException("attrs is required");
        }
        w.map(6);
        w.text("mode");
        u32OrNull("attrs.mode", a.mode(), w);
        w.text("uid");
        u32OrNull("attrs.uid", a.uid(), w);
        w.text("gid");
        u32OrNull("attrs.gid", a.gid(), w);
        w.text("size");
        u64OrNull(a.size(), w);
        w.text("atime");
        signedOrNull(a.atime(), w);
        w.text("mtime");
        signedOrNull(a.mtime(), w);
    }

    private static void options(FsOpenOptions o, CborWriter w) {
        if (o == null) {
            throw new IllegalArgumentException("options is required");
        }
        w.map(7 + (o.atomic() ? 1 : 0));
        bool("read", o.read(), w);
        bool("write", o.write(), w);
        bool("append", o.append(), w);
        bool("create", o.create(), w);
        bool("truncate", o.truncate(), w);
        bool("create_new", o.createNew(), w);
        w.text("mode");
        u32OrNull("options.mode", o.mode(), w);
        if (o.atomic()) {
            bool("atomic", true, w);
        }
    }

    private static void path(String path, CborWriter w) {
        w.map(1);
        text("path", path, w);
    }

    private static void srcDst(String src, String dst, CborWriter w) {
        w.map(2);
        text("src", src, w);
        text("dst", dst, w);
    }

    private static void handleOnly(long handle, CborWriter w) {
        w.map(1);
        w.text("handle");
        w.u64(handle);
    }

    private static void handleAndOffset(long handle, long offset, CborWriter w) {
        w.text("handle");
        w.u64(handle);
        w.text("offset");
        w.u64(offset);
    }

    private static void text(String field, String value, CborWriter w) {
        w.text(field);
        w.text(PayloadEncoding.required(field, value));
    }

    private static void bool(String field, boolean value, CborWriter w) {
        w.text(field);
        w.bool(value);
    }

    private static void u32OrNull(String field, Long value, CborWriter w) {
        if (value == null) {
            w.nul();
        } else {
            w.u64(PayloadEncoding.inRange(field, value, 0, U32_MAX));
        }
    }

    private static void u64OrNull(Long value, CborWriter w) {
        if (value == null) {
            w.nul();
        } else {
            w.u64(value);
        }
    }

    private static void signedOrNull(Long value, CborWriter w) {
        if (value == null) {
            w.nul();
        } else {
            w.signed(value);
        }
    }
}
