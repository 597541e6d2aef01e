package io.agentd.protocol.payload;

/**
 * The `{data bytes}` payload of core.exec.stdin, core.exec.stdout and core.exec.stderr.
 * Empty data on stdin is the end of input.
 */
public record ExecData(byte[] data) implements Payload {
    public static final ExecData EOF = new ExecData(new byte[0]);

    public ExecData {
        if (data == null) {
            throw new IllegalArgumentException("data is required");
        }
    }

    public boolean isEmpty() {
        return data.length == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExecData other && java.util.Arrays.equals(data, other.data);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "ExecData[" + data.length + " bytes]";
    }
}
