package io.agentd.client.cli.cp;

import io.agentd.client.fs.GuestFileException;
import io.agentd.client.fs.GuestFiles;
import io.agentd.client.fs.GuestOutputStream;
import io.agentd.client.fs.WriteOptions;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsSetAttrs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/** The guest's files, through {@link GuestFiles} (with -u, as that user). Paths are absolute. */
final class GuestTree implements SourceTree, DestTree {
    private static final int COPY_BUFFER_BYTES = 64 * 1024;

    private final GuestFiles files;

    GuestTree(GuestFiles files) {
        this.files = files;
    }

    GuestFiles files() {
        return files;
    }

    @Override
    public String show(String path) {
        return ":" + path;
    }

    @Override
    public Entry lstat(String path) throws IOException {
        if (TrailingSlashes.nameADirectory(path)) {
            // as on the host: "link/" is the directory the link names, "f/" no directory
            Entry named = entry(files.stat(path));
            if (!named.isDir()) {
                throw new NotDirectoryException(show(path));
            }
            return named;
        }
        return entry(files.lstat(path));
    }

    @Override
    public Entry stat(String path) throws IOException {
        return entryOrNull(() -> files.stat(path));
    }

    @Override
    public Entry lstatIfAny(String path) throws IOException {
        return entryOrNull(() -> files.lstat(path));
    }

    /** A stat of the guest's, as an entry; null for ENOENT. */
    private interface GuestStat {
        FsEntryInfo call() throws IOException;
    }

    private static Entry entryOrNull(GuestStat stat) throws IOException {
        try {
            return entry(stat.call());
        } catch (GuestFileException e) {
            if (e.kind() == GuestFileException.Kind.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    static Entry entry(FsEntryInfo i) {
        Entry.Kind kind = switch (i.kind()) {
            case FsEntryInfo.FILE -> Entry.Kind.FILE;
            case FsEntryInfo.DIR -> Entry.Kind.DIR;
            case FsEntryInfo.SYMLINK -> Entry.Kind.LINK;
            default -> Entry.Kind.OTHER;
        };
        long mtime = i.mtime() != null ? i.mtime() : i.modified() != null ? i.modified() : 0;
        long atime = i.atime() != null ? i.atime() : mtime;
        return new Entry(kind, i.size(), i.mode() & 07777, mtime, atime);
    }

    @Override
    public List<String> names(String dir) throws IOException {
        List<String> names = new ArrayList<>();
        for (FsEntryInfo e : files.list(dir)) {
            names.add(name(e.path()));
        }
        return names;
    }

    @Override
    public String readLink(String path) throws IOException {
        return files.readLink(path);
    }

    @Override
    public InputStream open(String path) throws IOException {
        return files.openRead(path);
    }

    /** @throws IllegalArgumentException the name is not one entry's ({@link EntryNames#entryName}) */
    @Override
    public String child(String dir, String name) {
        EntryNames.entryName(name);
        return dir.endsWith("/") ? dir + name : dir + "/" + name;
    }

    @Override
    public String parent(String path) {
        String p = TrailingSlashes.strip(path);
        int slash = p.lastIndexOf('/');
        return slash <= 0 ? "/" : p.substring(0, slash);
    }

    /** A tar's hard link, as a copy of the file it names (already extracted). */
    void hardLink(String existing, String path) throws IOException {
        try {
            files.copy(existing, path);
        } catch (IOException e) {
            throw CopyFailure.of("cannot create hard link", show(path), e);
        }
    }

    @Override
    public String name(String path) {
        String p = TrailingSlashes.strip(path);
        return p.substring(p.lastIndexOf('/') + 1);
    }

    @Override
    public void mkdir(String path, Entry source) throws IOException {
        try {
            files.mkdir(path, source.mode() & 0777);
        } catch (IOException e) {
            throw CopyFailure.of("cannot create directory", show(path), e);
        }
    }

    @Override
    public void writeFile(String path, Entry source, boolean keep, InputStream in, LongConsumer progress)
            throws IOException {
        WriteOptions options = WriteOptions.DEFAULT.withMode(source.mode() & 0777);
        boolean timesKept = keep && KeptTimes.settable(source);
        if (keep) {
            options = options.withFinalAttrs(keptAttrs(source, timesKept));
        }
        GuestOutputStream out;
        try {
            out = files.openWrite(path, options);
        } catch (IOException e) {
            throw CopyFailure.of("cannot create regular file", show(path), e);
        }
        byte[] buffer = new byte[COPY_BUFFER_BYTES];
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (IOException e) {
                out.abort(); // the guest keeps what it had (an atomic write leaves nothing)
                throw CopyFailure.of("error reading the source of", show(path), e);
            }
            if (n < 0) {
                break;
            }
            try {
                out.write(buffer, 0, n);
            } catch (IOException e) {
                throw CopyFailure.of("error writing", show(path), e); // the stream has aborted
            }
            if (progress != null) {
                progress.accept(n);
            }
        }
        try {
            out.close();
        } catch (IOException e) {
            throw CopyFailure.of("error writing", show(path), e);
        }
        if (keep && !timesKept) {
            throw KeptTimes.notSettable(show(path), source).itemWritten(); // the file is there, with its mode
        }
    }

    /** -a's attributes: the mode, and the times when the agent can set them ({@link KeptTimes}). */
    private static FsSetAttrs keptAttrs(Entry source, boolean withTimes) {
        return new FsSetAttrs(source.mode() & 07777, null, null, null,
                withTimes ? source.atime() : null, withTimes ? source.mtime() : null);
    }

    @Override
    public void symlink(String target, String path, Entry link) throws IOException {
        try {
            Entry there = entryOrNull(path);
            if (there != null && !there.isDir()) {
                files.remove(path);
            }
            files.symlink(target, path);
        } catch (IOException e) {
            throw CopyFailure.of("cannot create symbolic link", show(path), e);
        }
    }

    private Entry entryOrNull(String path) throws IOException {
        FsEntryInfo i = files.lstatIfExists(path);
        return i == null ? null : entry(i);
    }

    @Override
    public void chmod(String path, long mode) throws IOException {
        try {
            files.setStat(path, false, new FsSetAttrs(mode & 07777, null, null, null, null, null));
        } catch (IOException e) {
            throw CopyFailure.of("setting permissions of", show(path), e);
        }
    }

    @Override
    public void keepAttributes(String path, Entry source) throws IOException {
        keepAttributes(path, false, source);
    }

    @Override
    public void keepOperandAttributes(String path, Entry source) throws IOException {
        keepAttributes(path, true, source);
    }

    private void keepAttributes(String path, boolean followLink, Entry source) throws IOException {
        boolean timesKept = KeptTimes.settable(source);
        try {
            files.setStat(path, followLink, keptAttrs(source, timesKept));
        } catch (IOException e) {
            throw CopyFailure.of("preserving attributes for", show(path), e);
        }
        if (!timesKept) {
            throw KeptTimes.notSettable(show(path), source);
        }
    }
}
