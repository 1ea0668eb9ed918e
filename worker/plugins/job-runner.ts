import { hostname } from "node:os";
import fp from "fastify-plugin";
import { latencyBucket, rollupAdd } from "../../core/jobs/rollups.ts";
import { workerInstanceRegister, workerInstanceStopped, workerInstanceTouch } from "../../core/jobs/worker-instances.ts";
import { reportError, reportFinalJobFailure } from "../../core/observability/sentry.ts";
import { warmHttpClient } from "../handlers/http-warm-up.ts";
import { createHandlers } from "../handlers/index.ts";
import { RollupBuffer, type JobOutcome } from "../metrics/rollup-buffer.ts";
import { JobRunner } from "../runner/job-runner.ts";

export interface RunnerPluginState {
  runner: JobRunner;
  /** Writes the outcomes gathered so far to ops.job_rollup_minute now (also runs on a timer and at shutdown). */
  flushRollups(): Promise<void>;
}

const INSTANCE_HEARTBEAT_MS = 10_000;

/**
 * Runs the job handlers in this process and owns its graceful shutdown: on close it stops fetching,
 * gives running jobs SHUTDOWN_TIMEOUT_SECONDS to finish, hands whatever still runs back to its queue
 * (another worker runs it), then writes the last metric rollups.
 */
export const jobRunnerPlugin = fp(
  async (app) => {
    const { config, metrics, service } = app;
    const handlers = createHandlers(config);
    const rollups = new RollupBuffer();

    // Bound per queue once, so the hot path does not hash label sets for every job.
    const counters = new Map<string, Record<JobOutcome["status"], { inc(): void }>>();
    const onOutcome = (outcome: JobOutcome) => {
      let c = counters.get(outcome.queue);
      if (!c) {
        c = {
          completed: metrics.jobsCompleted.labels(outcome.queue),
          failed: metrics.jobsFailed.labels(outcome.queue),
          retried: metrics.jobsRetried.labels(outcome.queue),
        };
        counters.set(outcome.queue, c);
      }
      c[outcome.status].inc();
      const runBucket = latencyBucket(outcome.runMs);
      const pickupMs = outcome.pickupMs === null ? null : Math.max(0, outcome.pickupMs);
      const pickupBucket = pickupMs === null ? null : latencyBucket(pickupMs);
      metrics.jobRunSeconds.observe(outcome.queue, runBucket, outcome.runMs);
      if (pickupBucket !== null) metrics.jobPickupSeconds.observe(outcome.queue, pickupBucket, pickupMs!);
      rollups.record(outcome, runBucket, pickupBucket);
    };

    const runner = new JobRunner({
      url: config.DATABASE_URL,
      boss: app.boss,
      appDb: app.db.app,
      jobs: app.jobs,
      handlers,
      concurrency: config.JOB_CONCURRENCY,
      claimsAtOnce: config.JOB_FETCH_LOOPS,
      fairShare: config.JOB_FAIR_SHARE,
      pollIntervalSeconds: config.JOB_POLL_INTERVAL_SECONDS,
      log: app.log,
      onOutcome,
      onFinalFailure: (error, job) => reportFinalJobFailure(error, job),
    });

    let flushing: Promise<void> = Promise.resolve();
    const flushRollups = () => {
      // Serialised: two overlapping flushes would each take half the buffer and race their upserts.
      flushing = flushing.then(async () => {
        const rows = rollups.take();
        try {
          await rollupAdd(app.db.owner, rows);
        } catch (error) {
          rollups.restore(rows);
          app.log.warn({ err: error }, "could not write job rollups; will retry on the next flush");
        }
      });
      return flushing;
    };

    await workerInstanceRegister(app.db.owner, {
      id: service.instanceId,
      hostname: hostname(),
      pid: process.pid,
      version: service.version,
      concurrency: config.JOB_CONCURRENCY,
      jobTypes: [...handlers.keys()],
    });
    const timers = [
      setInterval(() => void flushRollups(), config.JOB_ROLLUP_FLUSH_SECONDS * 1000),
      setInterval(() => {
        workerInstanceTouch(app.db.owner, service.instanceId).catch((error: Error) =>
          app.log.warn({ err: error }, "could not refresh this worker's heartbeat row"),
        );
      }, INSTANCE_HEARTBEAT_MS),
    ];
    for (const timer of timers) timer.unref();

    await warmHttpClient();
    await runner.start();
    app.decorate("runner", { runner, flushRollups });
    metrics.readInFlight = () => runner.inFlightByQueue();
    app.log.info(
      { jobTypes: [...handlers.keys()], concurrency: config.JOB_CONCURRENCY, fetchLoops: config.JOB_FETCH_LOOPS },
      "job runner started",
    );

    app.addHook("onClose", async () => {
      for (const timer of timers) clearInterval(timer);
      app.log.info(
        { running: runner.inFlight, timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS },
        "stopping: no new jobs; waiting for running jobs to finish",
      );
      const { abandoned } = await runner.stop(config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      if (abandoned > 0) {
        app.log.warn({ abandoned }, "shutdown deadline passed: unfinished jobs were handed back to their queues for another worker");
      }
      await app.boss.stop({ graceful: false, close: true });
      await flushRollups();
      await workerInstanceStopped(app.db.owner, service.instanceId).catch((error: Error) => reportError(error));
      app.log.info("job runner stopped");
    });
  },
  { name: "job-runner", dependencies: ["queue-engine"] },
);
