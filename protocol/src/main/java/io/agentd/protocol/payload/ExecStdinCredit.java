package io.agentd.protocol.payload;

/**
 * core.exec.stdin.credit (extension, docs/PROTOCOL-EXTENSIONS.md): the host may send {@code bytes}
 * more bytes of stdin data on this session, on top of what earlier credits allowed. Sent only to a
 * host that asked for flow control in its exec.request ({@code stdin_window: true}).
 */
public record ExecStdinCredit(long bytes) implements Payload {}
