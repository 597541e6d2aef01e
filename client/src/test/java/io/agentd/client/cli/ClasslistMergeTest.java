package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/classlist-merge, which agentctl-cds and the agent's training dump their archives from: the
 * union of the training runs' class lists; with --spare-lambdas (agentctl-cds) each @lambda-proxy
 * line once more than any run had it, since a call site two threads link at once takes two archived
 * classes (agentctl's start-up warm-up beside the connection's reader) and a training run sees that
 * race only sometimes.
 */
class ClasslistMergeTest {
    private static final Path ROOT =
            Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();
    private static final String DECODER_LAMBDA = "@lambda-proxy io/agentd/protocol/FrameDecoder get (J)V";
    private static final String READER_LAMBDA = "@lambda-proxy io/agentd/protocol/CborReader call (J)V";

    @TempDir
    Path dir;

    @Test
    void keepsTheUnionInFirstSeenOrderEachLineAsOftenAsTheListThatHasItMost() throws Exception {
        assertEquals(List.of("java/lang/Object id: 0", DECODER_LAMBDA, "io/agentd/protocol/FrameDecoder",
                DECODER_LAMBDA, READER_LAMBDA, "io/agentd/client/cli/Cp"), merge(List.of(), trainingRuns()));
    }

    @Test
    void withSpareLambdasEachLambdaProxyLineComesOnceMoreThanAnyListHasIt() throws Exception {
        assertEquals(List.of("java/lang/Object id: 0", DECODER_LAMBDA, "io/agentd/protocol/FrameDecoder",
                DECODER_LAMBDA, DECODER_LAMBDA, READER_LAMBDA, READER_LAMBDA, "io/agentd/client/cli/Cp"),
                merge(List.of("--spare-lambdas"), trainingRuns()));
    }

    @Test
    void aClassListedTwiceInOneListStaysAsOftenAndOnlyLambdaProxiesGetASpare() throws Exception {
        Path list = Files.write(dir.resolve("1"), List.of("a/B", "a/B", "@lambda-proxy a/B run ()V"));

        assertEquals(List.of("a/B", "a/B", "@lambda-proxy a/B run ()V", "@lambda-proxy a/B run ()V"),
                merge(List.of("--spare-lambdas"), list));
    }

    /** Two runs: one linked the decoder's lambda twice (a race), the other once and the reader's once. */
    private Path[] trainingRuns() throws Exception {
        Path first = Files.write(dir.resolve("1"), List.of("java/lang/Object id: 0", DECODER_LAMBDA,
                "io/agentd/protocol/FrameDecoder", DECODER_LAMBDA));
        Path second = Files.write(dir.resolve("2"), List.of("java/lang/Object id: 0", DECODER_LAMBDA,
                READER_LAMBDA, "io/agentd/client/cli/Cp"));
        return new Path[] {first, second};
    }

    private List<String> merge(List<String> options, Path... lists) throws Exception {
        Path out = dir.resolve("merged");
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("scripts/classlist-merge").toString()));
        command.addAll(options);
        for (Path list : lists) {
            command.add(list.toString());
        }
        Process merge = new ProcessBuilder(command).redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        assertTrue(merge.waitFor(30, TimeUnit.SECONDS), "classlist-merge finished");
        assertEquals(0, merge.exitValue());
        return Files.readAllLines(out);
    }
}
