package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.AnsweringTransport;
import io.agentd.client.fs.GuestFiles;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * agentctl cp against an agent whose answers do not hold together (a hostile guest's, or a
 * broken one's): what the host does with them stays bounded, and is said on one line.
 */
@Timeout(30)
class CpLyingGuestTest {
    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);


    /** A guest whose /d holds the files in {@code sizes}, each of the size given and each read as empty (its first Read ends it). */
    private static GuestFiles guest(Map<String, Long> sizes) {
        return GuestFiles.over(new AnsweringTransport((op, l) -> {
            if (op instanceof FsOp.Stat s) {
                l.onResponse(s.path().equals("/d") ? FsResponse.success(new FsResponseData.Stat(dir("/d")))
                        : sizes.containsKey(s.path()) ? FsResponse.success(new FsResponseData.Stat(file(s.path(),
                                sizes.get(s.path()))))
                        : new FsResponse(false, s.path() + ": No such file or directory (os error 2)", null, 2, "ENOENT",
                                null));
            } else if (op instanceof FsOp.ListDir) {
                List<FsEntryInfo> entries = sizes.entrySet().stream().map(e -> file(e.getKey(), e.getValue())).toList();
                l.onResponse(FsResponse.success(new FsResponseData.Entries(entries)));
            } else if (op instanceof FsOp.OpenFile) {
                l.onResponse(FsResponse.success(new FsResponseData.Handle(1)));
            } else {
                l.onResponse(FsResponse.success(null)); // a Read with no data: the end of the file
            }
        }));
    }

    private static FsEntryInfo dir(String path) {
        return new FsEntryInfo(path, FsEntryInfo.DIR, 4096, 040755, 0L, 0, 0, 0L, 0L);
    }

    private static FsEntryInfo file(String path, long size) {
        return new FsEntryInfo(path, FsEntryInfo.FILE, size, 0100644, 0L, 0, 0, 0L, 0L);
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * {@code cp :/d -} where the guest says /d/big holds 1 TiB and sends none of it: the tar stops
     * there, cut short, with one line saying what was missing (its guest-chosen name escaped), and
     * exit 1. Before, the entry was padded with zeros to the guest's size, 1 TiB of them to stdout
     * (here until the test's stdout refused more: "error writing to standard output").
     */
    @Test
    void aTarOfAFileWhoseSizeIsALieStopsCutShortNotPaddedToIt() throws Exception {
        CountingOutput stdout = new CountingOutput(64L << 20);
        Cp cp = new Cp(CpOptions.parse(List.of(":/d", "-")), InputStream.nullInputStream(), stdout, err);

        int status = cp.run(guest(Map.of("/d/b\u202Eig", 1L << 40)));

        assertEquals(1, status, err());
        assertEquals("agentctl cp: error reading ':/d/b\\u202eig': file shrank by 1099511627776 of its 1099511627776"
                + " bytes; the archive stops here, cut short (at most 1048576 bytes in all are padded with zeros)\n", err());
        assertTrue(stdout.written < TarSink.MAX_PADDING, stdout.written + " bytes written to stdout");
    }

    /**
     * A guest link whose target, as the guest tells it, holds a NUL (no kernel stores one): into a
     * tar, the member's link name was cut at the NUL by whoever reads the archive; onto the host,
     * the JDK refused the name. Now the link is not copied, said on one line, exit 1.
     */
    @Test
    void aGuestLinkWhoseTargetHoldsANulIsNotCopied(@org.junit.jupiter.api.io.TempDir java.nio.file.Path host)
            throws Exception {
        GuestFiles guest = GuestFiles.over(new AnsweringTransport((op, l) -> {
            if (op instanceof FsOp.Stat s) {
                l.onResponse(FsResponse.success(new FsResponseData.Stat(
                        new FsEntryInfo(s.path(), FsEntryInfo.SYMLINK, 8, 0120777, 0L, 0, 0, 0L, 0L))));
            } else if (op instanceof FsOp.ReadLink) {
                l.onResponse(FsResponse.success(new FsResponseData.Path("/etc\u0000/passwd")));
            } else {
                l.onResponse(new FsResponse(false, "unexpected " + op, null, 22, "EINVAL", null));
            }
        }));
        CountingOutput stdout = new CountingOutput(1L << 20);
        Cp cp = new Cp(CpOptions.parse(List.of(":/l", "-")), InputStream.nullInputStream(), stdout, err);

        int status = cp.run(guest);

        assertEquals(1, status, err());
        assertEquals("agentctl cp: cannot read symbolic link ':/l': the guest's answer is no link target"
                + " (empty, or holding a NUL)\n", err());

        errBytes.reset();
        Cp onto = new Cp(CpOptions.parse(List.of(":/l", host.resolve("l").toString())), InputStream.nullInputStream(),
                stdout, err);
        assertEquals(1, onto.run(guest), err());
        assertEquals("agentctl cp: cannot read symbolic link ':/l': the guest's answer is no link target"
                + " (empty, or holding a NUL)\n", err());
        assertTrue(!java.nio.file.Files.exists(host.resolve("l"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }
}
