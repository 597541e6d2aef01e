package io.agentd.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The JVM options scripts/agentctl gives a command, asked of the launcher itself: it is run with
 * JAVA naming a stand-in that prints its arguments, so a bare JVM started with them is started as
 * agentctl is, and a flag added to the launcher reaches the baseline too (a list kept here had
 * drifted: it lacked -XX:CompileThresholdScaling=10, -Xmn8m, -Xms16m and -XX:+DisplayVMOutputToStderr).
 * Left out: the class path and what follows it, and agentctl's own class-data archive, which is
 * made for agentctl's class path and would not serve another.
 */
final class LauncherFlags {
    private static final String PRINT_ARGS = "#!/bin/sh\nprintf '%s\\0' \"$@\"\n";

    private LauncherFlags() {}

    /** The options before -cp that {@code agentctl} passes to java for {@code args}. */
    static List<String> of(Path agentctl, Path workDir, List<String> args) throws IOException, InterruptedException {
        Path printer = workDir.resolve("print-java-args");
        Files.writeString(printer, PRINT_ARGS);
        Files.setPosixFilePermissions(printer, PosixFilePermissions.fromString("rwx------"));
        List<String> command = new ArrayList<>(List.of(agentctl.toString()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("JAVA", printer.toString());
        pb.environment().remove("AGENTCTL_JAVA_OPTS"); // the launcher's flags, not this shell's additions
        BoundedRead.Output out = BoundedRead.readAll(pb.start(), Duration.ofSeconds(30), "scripts/agentctl");
        List<String> argv = Arrays.asList(new String(out.stdout(), StandardCharsets.UTF_8).split("\0"));
        int classPath = argv.indexOf("-cp");
        if (out.exitCode() != 0 || classPath < 0) {
            throw new IOException("scripts/agentctl " + String.join(" ", args) + " (exit " + out.exitCode()
                    + ") passed java no -cp: " + argv);
        }
        return argv.subList(0, classPath).stream()
                .filter(a -> !a.startsWith("-XX:SharedArchiveFile=") && !a.equals("-Xlog:cds*=off"))
                .toList();
    }
}
