package io.agentd.agent.fs;

import io.agentd.agent.sys.FileType;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.FsLimits;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Every FsOp but Read and Write (streamed by {@link FsTransfers}), run on a worker thread with
 * java.nio.file: its calls are the system calls the reference makes (stat, lstat, chmod, chown,
 * utimensat, symlink, readlink, mkdir, rename, openat, ...), made on the calling thread (so
 * {@link FsCredentials} applies to them), with struct stat read correctly on every architecture.
 */
final class FsOperations {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private final FsHandles handles;
    /**
     * Test seam: runs on the worker once an FStat or FSetStat holds the path it acts on and before
     * its system calls, so that a test can close the handle right there.
     */
    volatile Runnable metadataPause = () -> {};
    private final FsMetadata metadata;
    private final FsListing listing;
    private final FsOpens opens;

    FsOperations(FsHandles handles) {
        this.handles = handles;
        this.metadata = new FsMetadata(handles, () -> metadataPause.run());
        this.listing = new FsListing(handles, () -> metadataPause.run());
        this.opens = new FsOpens(handles);
    }

    FsResponse run(long id, FsOp op) throws FsFailure {
        if (op instanceof FsOp.RealPath o) {
            return metadata.realPath(o);
        } else if (op instanceof FsOp.Stat o) {
            return metadata.stat(o);
        } else if (op instanceof FsOp.SetStat o) {
            return metadata.setStat(o);
        } else if (op instanceof FsOp.ListDir o) {
            return listing.list(o);
        } else if (op instanceof FsOp.ReadLink o) {
            return metadata.readLink(o);
        } else if (op instanceof FsOp.Symlink o) {
            return FsNamespace.symlink(o);
        } else if (op instanceof FsOp.Mkdir o) {
            return FsNamespace.mkdir(o);
        } else if (op instanceof FsOp.Remove o) {
            return FsNamespace.remove(o);
        } else if (op instanceof FsOp.RemoveDir o) {
            return FsNamespace.removeDir(o);
        } else if (op instanceof FsOp.Copy o) {
            return FsNamespace.copy(o);
        } else if (op instanceof FsOp.Rename o) {
            return FsNamespace.rename(o);
        } else if (op instanceof FsOp.OpenFile o) {
            return opens.openFile(id, o);
        } else if (op instanceof FsOp.OpenDir o) {
            return opens.openDir(id, o);
        } else if (op instanceof FsOp.CloseHandle o) {
            return opens.closeHandle(id, o);
        } else if (op instanceof FsOp.ReadDir o) {
            return listing.readDir(id, o);
        } else if (op instanceof FsOp.FStat o) {
            return metadata.fstat(id, o);
        } else if (op instanceof FsOp.FSetStat o) {
            return metadata.fsetStat(id, o);
        }
        throw new FsFailure(FsFailure.EINVAL, op.variant() + " is not run here (os error 22)");
    }

}
