package io.agentd.testkit;

import io.agentd.client.ExecResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Boot-to-ready through the kit next to its baseline, scripts/guest/boot, measured in the same run on
 * the same image (both TCG, 1024 MiB, 2 vCPUs), then four VMs booted in parallel through the kit: each
 * one's boot-to-ready, and whether all four run a command. Run by scripts/guest/kit-boot-bench; heavy
 * (six boots), so run it on a machine doing nothing else.
 *
 * <pre>BootBench --repo DIR [--image DIR] [--rounds N] [--parallel N]</pre>
 */
public final class BootBench {
    private static final Pattern BOOT_SCRIPT_FIGURE = Pattern.compile("boot-to-ready: (\\d+\\.\\d+) s");

    public static void main(String[] args) throws Exception {
        Path repo = null;
        Path image = null;
        int rounds = 1;
        int parallel = 4;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--repo" -> repo = Path.of(args[i + 1]).toAbsolutePath().normalize();
                case "--image" -> image = Path.of(args[i + 1]).toAbsolutePath().normalize();
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--parallel" -> parallel = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (repo == null) {
            throw new IllegalArgumentException("--repo DIR is required");
        }
        if (image == null) {
            image = repo.resolve(GuestImage.DEFAULT_RELATIVE_DIR);
        }
        GuestImage.load(image);
        // The baseline's run directories (scripts/guest/boot --run-dir: its logs, socket, pid files). Gone
        // once every VM is stopped; after a failure they stay for its logs, and the path is printed.
        Path work = Files.createTempDirectory("agentd-boot-bench-");
        boolean finished = false;
        try {
            run(repo, image, rounds, parallel, work);
            finished = true;
        } finally {
            if (finished) {
                RunDirKeeping.deleteTree(work);
            } else {
                System.out.println("boot-bench failed; the baseline's run directories are kept in " + work);
            }
        }
    }

    private static void run(Path repo, Path image, int rounds, int parallel, Path work) throws Exception {
        System.out.printf("image %s, load average at start %s%n", image, Files.readString(Path.of("/proc/loadavg")).strip());

        System.out.println("boot-to-ready, one VM at a time (TCG, 1024 MiB, 2 vCPUs):");
        List<Double> script = new ArrayList<>();
        List<Double> kit = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            double s = bootScript(repo, image, work.resolve("script-" + round));
            script.add(s);
            System.out.printf("  round %d  scripts/guest/boot (baseline)  %7.3f s%n", round, s);
            double k = bootKit(image);
            kit.add(k);
            System.out.printf("  round %d  GuestVm                        %7.3f s  (%.2fx the baseline)%n", round, k, k / s);
        }
        if (rounds > 1) {
            System.out.printf("  median   baseline %.3f s, GuestVm %.3f s%n", median(script), median(kit));
        }

        if (parallel > 0) {
            System.out.printf("%d VMs booted at once through GuestVm:%n", parallel);
            parallel(image, parallel);
        }
    }

    /** scripts/guest/boot --detach: its own boot-to-ready figure; then agentctl shutdown. */
    private static double bootScript(Path repo, Path image, Path run) throws IOException, InterruptedException {
        Process boot = new ProcessBuilder(repo.resolve("scripts/guest/boot").toString(), "--image", image.toString(),
                "--run-dir", run.toString(), "--detach", "--timeout", "300")
                .redirectErrorStream(true).start();
        String out = new String(boot.getInputStream().readAllBytes());
        if (boot.waitFor() != 0) {
            throw new IOException("scripts/guest/boot failed:\n" + out);
        }
        Matcher m = BOOT_SCRIPT_FIGURE.matcher(out);
        if (!m.find()) {
            throw new IOException("no boot-to-ready line from scripts/guest/boot:\n" + out);
        }
        Process shutdown = new ProcessBuilder(repo.resolve("scripts/agentctl").toString(), "--socket",
                run.resolve("agent.sock").toString(), "shutdown").inheritIO().start();
        shutdown.waitFor();
        for (int i = 0; i < 600 && !Files.exists(run.resolve("qemu.status")); i++) {
            Thread.sleep(100);
        }
        if (!Files.exists(run.resolve("qemu.status"))) {
            long pid = Long.parseLong(Files.readString(run.resolve("qemu.pid")).strip());
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            throw new IOException("the script's VM did not power off within 60 s; killed");
        }
        return Double.parseDouble(m.group(1));
    }

    private static double bootKit(Path image) throws Exception {
        try (GuestVm vm = GuestVm.builder().image(image).accel(Accel.TCG).boot()) {
            return vm.bootToReady().toNanos() / 1e9;
        }
    }

    private static void parallel(Path image, int count) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(count);
        List<Future<GuestVm>> booting = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            booting.add(pool.submit(() -> GuestVm.builder().image(image).accel(Accel.TCG)
                    .bootTimeout(Duration.ofMinutes(10)).boot()));
        }
        List<GuestVm> vms = new ArrayList<>();
        try {
            for (Future<GuestVm> f : booting) {
                try {
                    vms.add(f.get());
                } catch (ExecutionException e) {
                    System.out.println("  a VM did not boot: " + e.getCause().getMessage());
                }
            }
            Set<String> bootIds = new HashSet<>();
            int worked = 0;
            for (int i = 0; i < vms.size(); i++) {
                GuestVm vm = vms.get(i);
                ExecResult r = vm.exec("cat", "/proc/sys/kernel/random/boot_id");
                boolean ok = r.exitCode() == 0 && bootIds.add(r.stdoutText().strip());
                worked += ok ? 1 : 0;
                System.out.printf(Locale.ROOT, "  vm %d  boot-to-ready %7.3f s  run dir %s  command %s%n", i + 1,
                        vm.bootToReady().toNanos() / 1e9, vm.runDir(), ok ? "ran" : "FAILED: " + r);
            }
            System.out.printf("  %d of %d VMs ran a command, each in a guest of its own (distinct boot ids)%n", worked, count);
        } finally {
            for (GuestVm vm : vms) {
                vm.close();
            }
            pool.shutdownNow();
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private BootBench() {
    }
}
