package io.agentd.agent.transport;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStdinError;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** A host that records what a session sends it, in order; the test says whether it takes more. */
public final class RecordingHost implements HostOutput {
    /** Every frame, data frames included (their bytes in {@link #data}). */
    public final List<Frame> frames = new ArrayList<>();
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final ByteArrayOutputStream fsData = new ByteArrayOutputStream();
    public boolean acceptsOutput = true;
    /** What {@link #hangUpIfGone} runs, as the link's hang-up would (then it answers true); null: the host is there. */
    public Runnable goneWithoutHangUp;
    /** What {@link #hangUpPending} answers: the host closed while a command of its is being started (or it is dropped). */
    public boolean hangUpPending;
    /** A socket takes spliced frames; a port only copies. */
    public boolean acceptsSplicedData;
    /** Spliced frames announced and not yet released by the queue: their release callbacks. */
    public final List<java.util.function.IntConsumer> splicedPending = new ArrayList<>();
    /** Pipes whose announced bytes the queue was asked to take out before the session read or closed them. */
    public final List<Integer> takenOutOf = new ArrayList<>();
    public long splicedBytes;

    @Override
    public void send(Frame frame) {
        frames.add(frame);
    }

    @Override
    public void sendData(long id, MessageType type, ByteBuffer data) {
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        (type == MessageType.EXEC_STDOUT ? stdout : type == MessageType.FS_DATA ? fsData : stderr).writeBytes(bytes);
        frames.add(new Frame(id, type, null));
    }

    @Override
    public boolean acceptsSplicedData() {
        return acceptsSplicedData;
    }

    @Override
    public void sendSplicedData(long id, MessageType type, int pipeFd, int length,
            java.util.function.IntConsumer onReleased) {
        if (!acceptsSplicedData) {
            throw new AssertionError("this host takes copies only");
        }
        splicedBytes += length;
        splicedPending.add(onReleased);
        frames.add(new Frame(id, type, null));
    }

    @Override
    public void takeOutOfPipe(int pipeFd) {
        takenOutOf.add(pipeFd);
    }

    @Override
    public boolean acceptsOutput() {
        return acceptsOutput;
    }

    @Override
    public void refuseStdin(long id, Integer errno, String errnoName, String message) {
        frames.add(new Frame(id, MessageType.EXEC_STDIN_ERROR, new ExecStdinError(errno, errnoName, message)));
    }

    @Override
    public void refuse(long id, ErrorKind kind, String offendingType, String message) {
        frames.add(new Frame(id, MessageType.CORE_ERROR, null));
    }

    /** The offending types of the refusals made as races (refuseRace: logged at debug), in order. */
    public final List<String> racedRefusals = new ArrayList<>();

    @Override
    public void refuseRace(long id, ErrorKind kind, String offendingType, String message) {
        racedRefusals.add(offendingType);
        refuse(id, kind, offendingType, message);
    }

    /** The frame types sent so far, in order ("core.exec.started" ...), data frames included. */
    @Override
    public boolean hangUpPending() {
        return hangUpPending;
    }

    @Override
    public boolean hangUpIfGone() {
        Runnable hangUp = goneWithoutHangUp;
        if (hangUp == null) {
            return false;
        }
        goneWithoutHangUp = null;
        hangUp.run();
        return true;
    }

    public List<MessageType> types() {
        return frames.stream().map(Frame::type).collect(Collectors.toList());
    }

    /** The frames of one type. */
    public List<Frame> of(MessageType type) {
        return frames.stream().filter(f -> f.type() == type).collect(Collectors.toList());
    }

    public String stdoutText() {
        return stdout.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The bytes of every core.fs.data sent, in order. */
    public byte[] fsDataBytes() {
        return fsData.toByteArray();
    }

    public String stderrText() {
        return stderr.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
}
