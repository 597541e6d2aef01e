package io.agentd.client.cli.cp;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/** The side cp reads from (the host's files or the guest's); paths are that side's, as text. */
interface SourceTree {

    /** {@code path} as messages show it (a guest path with its leading ':'). */
    String show(String path);

    /** The entry itself (a link is not followed); a missing one is an IOException. */
    Entry lstat(String path) throws IOException;

    /** The names in a directory. */
    List<String> names(String dir) throws IOException;

    String readLink(String path) throws IOException;

    InputStream open(String path) throws IOException;

    /**
     * The path of the entry {@code name} of directory {@code dir}.
     *
     * @throws IllegalArgumentException {@code name} is not one entry's name ({@link EntryNames#entryName}):
     *     never joined
     */
    String child(String dir, String name);

    /** The last name of a path ("" for the root). */
    String name(String path);
}
