package io.agentd.client.cli.cp;

/**
 * The tar to stdout ({@code cp :PATH -}) stops partway through a file's entry: the guest sent
 * fewer of its bytes than its size promised, by more than {@link TarSink#MAX_PADDING}. Zeros in
 * their place would be as many as the guest's size says (it may say 2^63-1 bytes and send none),
 * so the archive is left cut short and the copy stops there (exit 1, one line on stderr).
 */
final class TarCutShort extends java.io.IOException {
    private static final long serialVersionUID = 1L;

    TarCutShort(String message) {
        super(message);
    }
}
