import fp from "fastify-plugin";
import { createQueueEngine } from "../../core/jobs/engine.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { ensureQueues } from "../../core/jobs/queues.ts";
import { reportError } from "../../core/observability/sentry.ts";

export interface QueueEnginePluginOptions {
  /** Run pg-boss's background duties (supervision, maintenance, cron); off for API-only instances. */
  runsMaintenance: boolean;
}

/**
 * Starts pg-boss and makes sure every catalogue queue exists with its current settings. Its pool
 * serves supervision, failure settling, heartbeats and the API's retry and cancel; the job runners
 * have a pool of their own (worker/runner/job-runner.ts).
 */
export const queueEnginePlugin = fp<QueueEnginePluginOptions>(
  async (app, options) => {
    const { config } = app;
    const boss = createQueueEngine({
      url: config.DATABASE_URL,
      applicationName: "gpt-platform:worker:queue",
      maxConnections: 10,
      superviseIntervalSeconds: config.JOB_SUPERVISE_INTERVAL_SECONDS,
      runsMaintenance: options.runsMaintenance,
    });
    boss.on("error", (error: Error) => {
      if (app.service.shuttingDown) {
        // Maintenance that was mid-flight when its pool closed; nothing is lost (it runs again elsewhere).
        app.log.info({ err: error }, "queue engine error during shutdown");
        return;
      }
      app.log.error({ err: error }, "queue engine error");
      reportError(error, { component: "queue-engine" });
    });
    boss.on("warning", (warning: { message: string; data?: unknown }) => {
      app.log.warn({ data: warning.data }, `queue engine warning: ${warning.message}`);
    });
    await boss.start();
    await ensureQueues(boss);
    app.decorate("boss", boss);
    app.decorate("jobs", new JobClient(app.db.app));
    app.service.engineStarted = true;
    app.addHook("onClose", async () => {
      app.service.engineStarted = false;
      // No-op when the job runner already stopped it gracefully.
      await boss.stop({ graceful: false, close: true });
    });
  },
  { name: "queue-engine", dependencies: ["database"] },
);
