package io.agentd.agent.fs;

import io.agentd.agent.spawn.TargetUser;
import io.agentd.agent.spawn.UserDb;
import io.agentd.protocol.HostText;
import io.agentd.protocol.payload.FsRequest;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

/**
 * Runs one connection's fs tasks on {@link FsWorkers}, each with its request's user's rights
 * ({@link FsCredentials}), and posts each outcome back to the loop: the value, or the failure the
 * request answers (a refused worker thread, an unknown user and an unexpected exception included).
 */
final class FsTasks {
    private final Executor loop;
    private final FsWorkers workers;
    private final UserDb users;
    private final FsCredentials credentials;

    @FunctionalInterface
    interface Outcome<T> {
        void done(T value, FsFailure failure);
    }

    /** @param loop runs a task on the loop thread (EventLoop::execute), from any thread */
    FsTasks(Executor loop, FsWorkers workers, UserDb users, FsCredentials credentials) {
        this.loop = loop;
        this.workers = workers;
        this.users = users;
        this.credentials = credentials;
    }

    /**
     * Runs {@code task} on a worker with the request's user's rights; the outcome goes to {@code then}
     * on the loop. A task that {@code stopped} says was stopped before a worker took it is not run:
     * {@code then} gets (null, null); one stopped while it runs may end early ({@link FsStop}).
     */
    <T> void run(FsRequest request, FsCredentials.Operation<T> task, Outcome<T> then, BooleanSupplier stopped) {
        boolean queued = workers.run(() -> {
            if (stopped.getAsBoolean()) {
                loop.execute(() -> then.done(null, null));
                return;
            }
            T value = null;
            FsFailure failure = null;
            FsStop.set(stopped);
            try {
                TargetUser user = request.user() == null ? null : resolve(request.user());
                value = credentials.runAs(user, request.user(), task);
            } catch (FsFailure f) {
                failure = f;
            } catch (FsCredentials.CredentialsStuck stuck) {
                // Answered, then the Error ends the agent (FsCredentials): nothing may run on.
                FsFailure failed = new FsFailure(FsFailure.EIO, "internal error: " + stuck.getMessage());
                loop.execute(() -> then.done(null, failed));
                throw stuck;
            } catch (RuntimeException e) {
                loop.execute(() -> workers.internalErrors().report(e, System.nanoTime()));
                failure = new FsFailure(FsFailure.EIO, "internal error: " + e);
            } finally {
                FsStop.clear();
            }
            T result = value;
            FsFailure failed = failure;
            loop.execute(() -> then.done(result, failed));
        });
        if (!queued) {
            FsFailure refused = new FsFailure(FsFailure.EAGAIN, "the agent cannot start a thread for file"
                    + " operations now (the kernel refused one: its process or memory limit); try again later");
            loop.execute(() -> then.done(null, refused));
        }
    }

    /** From a worker inside {@link #run}: runs {@code step} on the loop, before the work's outcome. */
    void post(Runnable step) {
        loop.execute(step);
    }

    private TargetUser resolve(String spec) throws FsFailure {
        try {
            return users.resolve(spec);
        } catch (UserDb.LookupFailure f) {
            String quoted = HostText.quote(spec, HostText.QUOTE_MAX);
            if (f.stage().equals(UserDb.RESERVED_UID_STAGE)) {
                throw new FsFailure(FsFailure.EPERM, "user " + quoted + " " + UserDb.RESERVED_UID_REASON);
            }
            throw f.errno() == 0
                    ? new FsFailure(FsFailure.EINVAL, "user " + quoted + ": no such user or group (" + f.stage() + ")")
                    : FsFailure.of(f.errno(), "user " + quoted + ": " + f.stage());
        }
    }
}
