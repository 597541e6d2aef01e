package io.agentd.agent.spawn;

import io.agentd.agent.sys.OpenFileLimit;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.Rlimit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A spawn made by a non-root agent: {@link #asNobody} is a spec that starts a second JVM as nobody,
 * running {@link #main} on the build's dist jars and this module's test classes, which spawns through
 * the same shim and prints what happened on one line ("KIND STAGE ERRNO", or "started").
 */
final class NonRootSpawn {
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));

    private NonRootSpawn() {}

    static SpawnSpec asNobody(String probe) throws Exception {
        String classpath;
        try (Stream<Path> jars = Files.list(MODULE.resolve("target/dist/lib"))) {
            classpath = Stream.concat(jars.map(Path::toString).sorted(),
                    Stream.of(MODULE.resolve("target/test-classes").toString())).collect(Collectors.joining(":"));
        }
        return new SpawnSpec(Path.of(System.getProperty("java.home"), "bin", "java").toString(), List.of(
                "-Xshare:off", "-Djffi.boot.library.path=" + System.getProperty("jffi.boot.library.path"),
                "-D" + Spawner.SHIM_PROPERTY + "=" + System.getProperty(Spawner.SHIM_PROPERTY),
                "-cp", classpath, NonRootSpawn.class.getName(), probe),
                EnvBuilder.build(List.of(), List.of(), false), "/", "nobody", false,
                24, 80, List.of(), Profile.DEFAULT);
    }

    public static void main(String[] args) throws Exception {
        if (!args[0].equals("hard-limit-above-current")) {
            throw new IllegalArgumentException(args[0]);
        }
        long hard = OpenFileLimit.current().hard();
        SpawnSpec spec = new SpawnSpec("true", List.of(), EnvBuilder.build(List.of(), List.of(), false), null, null,
                false, 24, 80, List.of(new Rlimit("nofile", 64, hard + 1)), Profile.DEFAULT);
        try {
            Child child = Spawner.fromSystemProperty().start(spec);
            System.out.println("started pid " + child.pid());
        } catch (SpawnFailure f) {
            ExecFailed e = f.failure();
            System.out.println(e.kind() + " " + e.stage() + " " + e.errnoName());
        }
    }
}
