package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.agentd.client.AgentTimeoutException;
import io.agentd.client.fs.AnsweringTransport;
import io.agentd.client.fs.GuestFiles;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * cp against an agent that answers its first requests and then says nothing, the connection still
 * open (hung): the copy stops at the first call that waited the whole timeout, with one error,
 * rather than wait as long again for each item left and report each as failed. Every direction:
 * three items each, a guest silent from its first OpenFile on (or, for the progress line's size
 * walk, its first listing of a subdirectory). The scripted agent counts what it left unanswered:
 * each such request is one timeout waited.
 */
@Timeout(30)
class CpSilentAgentTest {
    /** Short, so that a copy that waited once per item still ends soon; nothing here is answered late. */
    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private static final Predicate<FsOp> OPEN_FILE = op -> op instanceof FsOp.OpenFile;

    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
    /** The requests the guest left unanswered, as "Op path". */
    private final List<String> unanswered = Collections.synchronizedList(new ArrayList<>());

    @TempDir
    Path host;

    /**
     * A guest whose {@code /d} holds the files a, b and c, beside the empty directories {@code /dst}
     * and {@code /e}, and which answers every request but those {@code silentOn} takes: those it leaves unanswered.
     */
    private GuestFiles guest(Predicate<FsOp> silentOn) {
        Map<String, String> kinds = Map.of("/d", FsEntryInfo.DIR, "/d/a", FsEntryInfo.FILE, "/d/b", FsEntryInfo.FILE,
                "/d/c", FsEntryInfo.FILE, "/dst", FsEntryInfo.DIR, "/e", FsEntryInfo.DIR);
        return GuestFiles.over(new AnsweringTransport((op, l) -> {
            if (silentOn.test(op)) {
                unanswered.add(op.variant() + " " + pathOf(op));
            } else if (op instanceof FsOp.Stat s) {
                String kind = kinds.get(s.path());
                l.onResponse(kind == null
                        ? new FsResponse(false, s.path() + ": No such file or directory (os error 2)", null, 2,
                                "ENOENT", null)
                        : FsResponse.success(new FsResponseData.Stat(info(s.path(), kind))));
            } else if (op instanceof FsOp.ListDir d) {
                List<FsEntryInfo> entries = kinds.keySet().stream().filter(p -> parentOf(p).equals(d.path()))
                        .map(p -> info(p, kinds.get(p))).toList();
                l.onResponse(FsResponse.success(new FsResponseData.Entries(entries)));
            } else if (op instanceof FsOp.OpenFile) {
                l.onResponse(FsResponse.success(new FsResponseData.Handle(7)));
            } else {
                l.onResponse(FsResponse.success(null)); // Mkdir, SetStat, CloseHandle
            }
        })).withTimeout(TIMEOUT);
    }

    private static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash == 0 ? "/" : path.substring(0, slash);
    }

    private static String pathOf(FsOp op) {
        if (op instanceof FsOp.OpenFile o) {
            return o.path();
        }
        if (op instanceof FsOp.ListDir d) {
            return d.path();
        }
        return op.toString();
    }

    private static FsEntryInfo info(String path, String kind) {
        long mode = kind.equals(FsEntryInfo.DIR) ? 040755 : 0100644;
        return new FsEntryInfo(path, kind, 6, mode, 0L, 0, 0, 0L, 0L);
    }

    /** Runs {@code agentctl cp ARGS} through {@code files}; what it throws is what ended the copy. */
    private AgentTimeoutException stopped(GuestFiles files, InputStream stdin, List<String> args) throws Exception {
        Cp cp = new Cp(CpOptions.parse(args), stdin, new ByteArrayOutputStream(), err);
        return assertThrows(AgentTimeoutException.class, () -> cp.run(files),
                () -> "the copy went on after a timeout; stderr:\n" + errBytes.toString(StandardCharsets.UTF_8));
    }

    /** One timeout waited, for {@code first}, said in the one line agentctl prints; no item reported. */
    private void assertStoppedAt(String first, AgentTimeoutException e) {
        assertEquals(List.of(first), unanswered, "the requests left unanswered, each a timeout waited");
        assertEquals("no answer from the agent to " + first + " within " + io.agentd.client.Timeouts.text(TIMEOUT) + "; the copy stopped",
                e.getMessage());
        assertEquals("", errBytes.toString(StandardCharsets.UTF_8), "no line per item");
    }

    @Test
    void aDownloadOfADirectoryStopsAtTheFirstSilence() throws Exception {
        AgentTimeoutException e = stopped(guest(OPEN_FILE), InputStream.nullInputStream(),
                List.of(":/d", host.toString()));

        assertStoppedAt("OpenFile /d/a", e);
        try (var names = Files.list(host.resolve("d"))) {
            assertEquals(List.of(), names.toList(), "no file copied, nor left half-written");
        }
    }

    @Test
    void anUploadOfSeveralSourcesStopsAtTheFirstSilence() throws Exception {
        List<String> args = new ArrayList<>();
        for (String name : List.of("a", "b", "c")) {
            args.add(Files.writeString(host.resolve(name), name + "\n").toString());
        }
        args.add(":/dst");

        assertStoppedAt("OpenFile /dst/a", stopped(guest(OPEN_FILE), InputStream.nullInputStream(), args));
    }

    @Test
    void aTarToStdoutStopsAtTheFirstSilence() throws Exception {
        assertStoppedAt("OpenFile /d/a", stopped(guest(OPEN_FILE), InputStream.nullInputStream(), List.of(":/d", "-")));
    }

    @Test
    void aTarFromStdinStopsAtTheFirstSilence() throws Exception {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            for (String name : List.of("a", "b", "c")) {
                byte[] content = (name + "\n").getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry entry = new TarArchiveEntry(name);
                entry.setSize(content.length);
                out.putArchiveEntry(entry);
                out.write(content);
                out.closeArchiveEntry();
            }
        }

        assertStoppedAt("OpenFile /dst/a",
                stopped(guest(OPEN_FILE), new ByteArrayInputStream(tar.toByteArray()), List.of("-", ":/dst")));
    }

    /**
     * A tar whose directory came before the silence: the extraction stops there, without setting
     * that directory's attributes (a SetStat would wait a whole timeout more, and its failure took
     * the place of the silence in agentctl's line).
     */
    @Test
    void aTarFromStdinStoppedBySilenceSetsNoDirectoryAttributesAfter() throws Exception {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
            out.putArchiveEntry(new TarArchiveEntry("d/", org.apache.commons.compress.archivers.tar.TarConstants.LF_DIR));
            out.closeArchiveEntry();
            byte[] content = "a\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry entry = new TarArchiveEntry("d/a");
            entry.setSize(content.length);
            out.putArchiveEntry(entry);
            out.write(content);
            out.closeArchiveEntry();
        }

        assertStoppedAt("OpenFile /dst/d/a", stopped(guest(op -> op instanceof FsOp.OpenFile || op instanceof FsOp.SetStat),
                new ByteArrayInputStream(tar.toByteArray()), List.of("-", ":/dst")));
    }

    /**
     * The progress line's total (worked out on a terminal only, before the copy) walks the tree
     * too: it went on past a silent listing into the next directory, one timeout each (here /d,
     * /dst and /e).
     */
    @Test
    void theSizeWalkStopsAtTheFirstSilence() {
        GuestTree guest = new GuestTree(guest(op -> op instanceof FsOp.ListDir d && !d.path().equals("/")));
        Entry root = new Entry(Entry.Kind.DIR, 0, 0755, 0, 0);

        AgentTimeoutException e = assertThrows(AgentTimeoutException.class, () -> TreeSize.of(guest, "/", root),
                () -> "the walk went on after a timeout; unanswered: " + unanswered);

        assertEquals(List.of("List /d"), unanswered, "the requests left unanswered, each a timeout waited");
        assertEquals("no answer from the agent to List /d within " + io.agentd.client.Timeouts.text(TIMEOUT), e.getMessage());
    }
}
