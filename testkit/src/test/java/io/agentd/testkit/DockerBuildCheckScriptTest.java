package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/guest/docker-build-check run whole with shell scripts in place of buildah, QEMU, agentctl
 * and {@code id} (no root, network, image build or VM): what the script itself does with its paths.
 */
class DockerBuildCheckScriptTest {
    private static final Path SCRIPT = Path.of(System.getProperty("agentd.project.root", ".."))
            .resolve("scripts/guest/docker-build-check").toAbsolutePath().normalize();

    @TempDir
    Path dir;
    private Process check;

    /** A check that failed the test may still run, with its QEMU and relay stand-ins. */
    @AfterEach
    void stopLeftovers() {
        if (check != null) {
            check.descendants().forEach(ProcessHandle::destroyForcibly);
            check.destroyForcibly();
        }
    }

    /**
     * buildah reads {@code -o type=local,dest=DIR} as fields split at every comma, with no escape
     * (buildah 1.28.2: {@code Error: invalid build output options "type=local,dest=/tmp/out,1",
     * expected format key=value}; a doubled comma or quotes do not help either); the stand-in below
     * reads it the same way. Before, an --out with a comma failed the build at that option.
     */
    @Test
    void anOutDirectoryWithACommaGetsTheExportedFilesAndBootsThem() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path image = FakeImage.create(dir.resolve("image"));
        Path rootfs = Files.createDirectories(dir.resolve("rootfs"));
        script(rootfs.resolve("init"), "exit 0");
        Path cache = Files.createDirectories(dir.resolve("cache/base"));
        Files.createFile(cache.resolve(".agentd-base-done"));  // no debootstrap
        script(bin.resolve("id"), "echo 0");
        script(bin.resolve("debootstrap"), "exit 1");
        script(bin.resolve("buildah"), """
                while [ $# -gt 0 ]; do case "$1" in --root|--runroot|--storage-driver) shift 2 ;; *) break ;; esac; done
                cmd=$1; shift
                case "$cmd" in
                  inspect) exit 125 ;;
                  from) echo fake-container ;;
                  mount) echo '%s' ;;
                  build)
                    output=
                    while [ $# -gt 0 ]; do if [ "$1" = -o ]; then output=$2; fi; shift; done
                    [ -n "$output" ] || exit 0
                    dest=
                    IFS=,
                    for field in $output; do
                      case "$field" in
                        type=local) ;;
                        dest=*) dest=${field#dest=} ;;
                        *) echo "Error: invalid build output options \\"$output\\", expected format key=value" >&2; exit 125 ;;
                      esac
                    done
                    mkdir -p "$dest" && cp '%s'/* "$dest/" ;;
                esac
                """.formatted(rootfs, image));
        // A QEMU that runs until SIGTERM (agentctl shutdown below) and then exits 0, as on a power-off.
        FakeQemu.create(bin, "qemu-system-x86_64", """
                prev=; for a in "$@"; do [ "$prev" = -pidfile ] && echo $$ > "$a"; prev=$a; done
                trap 'exit 0' TERM
                for _ in $(seq 600); do sleep 0.1; done""");
        Path agentctl = script(dir.resolve("agentctl"), """
                sock=
                while [ $# -gt 0 ]; do
                  case "$1" in
                    --socket) sock=$2; shift 2 ;;
                    relay) shift; while [ "$1" != --port ]; do shift; done; run=$(dirname "$2")
                      for _ in $(seq 600); do [ -f "$run/qemu.status" ] && exit 0; sleep 0.1; done; exit 1 ;;
                    wait-ready) run=$(dirname "$sock")
                      for _ in $(seq 600); do [ -s "$run/qemu.pid" ] && exit 0; sleep 0.1; done; exit 1 ;;
                    exec) echo 6.1.0-test; exit 0 ;;
                    shutdown) kill "$(cat "$(dirname "$sock")/qemu.pid")"; exit 0 ;;
                    *) shift ;;
                  esac
                done""");
        Path out = dir.resolve("out,1");

        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString(), "--cache", dir.resolve("cache").toString(),
                "--out", out.toString(), "--agentctl", agentctl.toString(), "--timeout", "60");
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("check.out").toFile());
        check = pb.start();
        assertTrue(check.waitFor(120, TimeUnit.SECONDS), "still runs after 120 s: " + output());
        assertEquals(0, check.exitValue(), output());
        assertTrue(output().contains("ok   boot-files exports image.env and the kernel and initramfs it names\n"), output());
        assertTrue(output().endsWith("docker-build-check: 4 passed, 0 failed\n"), output());
        assertEquals(Files.readString(image.resolve("image.env")), Files.readString(out.resolve("files/image.env")));
    }

    private String output() throws IOException {
        return Files.readString(dir.resolve("check.out"), StandardCharsets.UTF_8);
    }

    private static Path script(Path path, String body) throws IOException {
        Files.writeString(path, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));
        return path;
    }
}
