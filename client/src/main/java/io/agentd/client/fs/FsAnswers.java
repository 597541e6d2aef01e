package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.protocol.payload.FsEntryInfo;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;

/**
 * What a successful fs answer holds for the request it answers: the data due (metadata, a path, a
 * handle), or an {@link AgentException} naming what the agent sent instead.
 */
final class FsAnswers {
    private FsAnswers() {}

    static FsEntryInfo statOf(FsResponse r, String path) throws AgentException {
        if (r.data() instanceof FsResponseData.Stat s) {
            return s.info();
        }
        throw unexpected("Stat", path, r);
    }

    static String pathOf(FsResponse r, String path) throws AgentException {
        if (r.data() instanceof FsResponseData.Path p) {
            return p.path();
        }
        throw unexpected("Path", path, r);
    }

    static long handleOf(FsResponse r, String path) throws AgentException {
        if (r.data() instanceof FsResponseData.Handle h) {
            return h.handle();
        }
        throw unexpected("Handle", path, r);
    }

    static AgentException unexpected(String wanted, String path, FsResponse r) {
        return new AgentException("the agent answered " + path + " with "
                + (r.data() == null ? "no data" : r.data().variant()) + " where " + wanted + " was due");
    }
}
