package io.agentd.client;

import java.nio.charset.StandardCharsets;

/** One chunk of a session's output, as the agent sent it. */
public record Output(Stream stream, byte[] data) {

    public enum Stream { STDOUT, STDERR }

    public String text() {
        return new String(data, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Output[" + stream + ", " + data.length + " bytes]";
    }
}
