package io.agentd.client.cli.cp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CpOptionsTest {

    @Test
    void optionsOperandsAndDirections() throws Exception {
        CpOptions o = CpOptions.parse(List.of("-a", "-u", "app:staff", "a", "b", ":/dst"));
        assertTrue(o.archive());
        assertEquals("app:staff", o.user());
        assertEquals(List.of("a", "b"), o.sources());
        assertEquals(CpOptions.Direction.UPLOAD, o.direction());
        assertEquals(CpOptions.Direction.DOWNLOAD, CpOptions.parse(List.of(":/a", ":b", ".")).direction());
        assertEquals(CpOptions.Direction.TAR_IN, CpOptions.parse(List.of("-", ":/d")).direction());
        assertEquals(CpOptions.Direction.TAR_OUT, CpOptions.parse(List.of(":/d", "-")).direction());
        CpOptions plain = CpOptions.parse(List.of("--user=1000", "--", "-a", ":x"));
        assertFalse(plain.archive());
        assertEquals("1000", plain.user());
        assertEquals(List.of("-a"), plain.sources(), "after --, -a is a file name");
        assertNull(CpOptions.parse(List.of("a", ":/b")).user());
    }

    @Test
    void guestPathsStartAtTheRoot() {
        assertEquals("/etc/hosts", CpOptions.guestPath(":/etc/hosts"));
        assertEquals("/tmp/x", CpOptions.guestPath(":tmp/x"));
        assertEquals("/", CpOptions.guestPath(":"));
    }

    /**
     * An empty guest path (":", what ":$UNSET" gives) is refused, as a source and as the
     * destination: taken from the guest's /, `cp ":$SRC" out` copied the guest's whole file system.
     * ":/" says the root.
     */
    @Test
    void anEmptyGuestPathIsRefused() throws Exception {
        for (List<String> empty : List.of(List.of(":", "out"), List.of("f", ":"), List.of(":", "-"), List.of("-", ":"),
                List.of(":/a", ":", "out"))) {
            CpOptions.Invalid e = assertThrows(CpOptions.Invalid.class, () -> CpOptions.parse(empty), empty.toString());
            assertEquals("cp: ':' is an empty guest path (an unset variable?); the guest's root is :/", e.getMessage());
        }
        assertEquals(CpOptions.Direction.DOWNLOAD, CpOptions.parse(List.of(":/", "out")).direction());
    }

    @Test
    void badCommandLinesAreRefused() {
        for (List<String> bad : List.of(List.of("a"), List.of("a", "b"), List.of(":/a", ":/b"), List.of(":/a", "b", "c"),
                List.of("-", "b"), List.of("-", "a", ":/b"), List.of("a", "-"), List.of(":/a", ":/b", "-"),
                List.of("-x", "a", ":/b"), List.of("a", ":/b", "-u"), List.of("-u", "", "a", ":/b"))) {
            assertThrows(CpOptions.Invalid.class, () -> CpOptions.parse(bad), bad.toString());
        }
    }

    @Test
    void tarNamesThatLeaveTheDestinationAreRefused() {
        assertEquals("a/b", TarExtract.normalize("./a//b/"));
        assertEquals("", TarExtract.normalize("./"));
        assertNull(TarExtract.normalize("a/../../etc/passwd"));
        assertNull(TarExtract.normalize(".."));
    }

    @Test
    void pathsInMessagesShowControlCharactersEscaped() {
        assertEquals("'a b'", Quoting.quote("a b"));
        assertEquals("'a\\nb\\x1b'", Quoting.quote("a\nb\u001b"));
    }
}
