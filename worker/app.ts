import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import Fastify, { LogController, type FastifyInstance } from "fastify";
import type { DestinationStream } from "pino";
import type { WorkerConfig } from "../core/config/worker-config.ts";
import { readMigrationFiles } from "../core/db/migrator.ts";
import { allQueueNames, jobCatalogue } from "../core/jobs/catalogue.ts";
import { queueDepthAll } from "../core/jobs/job-queries.ts";
import { workerInstancesAlive } from "../core/jobs/worker-instances.ts";
import { createLogger } from "../core/logging/logger.ts";
import { backupStatusRead } from "../core/ops/backup-status.ts";
import { flushSentry, initSentry } from "../core/observability/sentry.ts";
import { PLATFORM_VERSION } from "../core/version.ts";
import "./fastify-types.ts";
import { createWorkerMetrics } from "./metrics/prometheus.ts";
import { authPlugin } from "./plugins/auth.ts";
import { databasePlugin } from "./plugins/database.ts";
import { errorHandlerPlugin } from "./plugins/error-handler.ts";
import { housekeepingPlugin } from "./plugins/housekeeping.ts";
import { jobRunnerPlugin } from "./plugins/job-runner.ts";
import { jsonBodyPlugin } from "./plugins/json-body.ts";
import { queueEnginePlugin } from "./plugins/queue-engine.ts";
import { rateLimitPlugin } from "./plugins/rate-limit.ts";
import { apiDocsRoutes } from "./routes/api-docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobsRoutes } from "./routes/jobs.ts";
import { warmAppConnections, warmEnqueuePath } from "../core/jobs/warm-up.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { queuesRoutes } from "./routes/queues.ts";
import { subscriptionsRoutes } from "./routes/subscriptions.ts";

export interface BuildWorkerOptions {
  config: WorkerConfig;
  /** False serves the HTTP API without running jobs (API-only replicas, API tests). */
  runJobs?: boolean;
  /** Where log lines go; stdout when omitted. */
  logStream?: DestinationStream;
}

/** A client-supplied request id is kept when it is short and plain, so traces line up across services. */
function requestId(header: string | string[] | undefined): string {
  return typeof header === "string" && /^[\w.-]{1,64}$/.test(header) ? header : randomUUID();
}

/**
 * Builds the worker service: observability first, then the database, the queue engine and the job
 * runner, then authentication, rate limits and routes. Closing runs that in reverse: requests and
 * jobs drain before the pools close. Resolves once everything has started.
 */
export async function buildWorkerApp(options: BuildWorkerOptions): Promise<FastifyInstance> {
  const { config } = options;
  const runJobs = options.runJobs ?? true;
  const app = Fastify({
    loggerInstance: createLogger("worker", config.LOG_LEVEL, options.logStream),
    genReqId: (request) => requestId(request.headers["x-request-id"]),
    // The first TRUST_PROXY hops from the socket are our proxies; the address before them is the
    // client's. Entries further left in X-Forwarded-For are the client's own claims.
    trustProxy: config.TRUST_PROXY === 0 ? false : (_address: string, hop: number) => hop < config.TRUST_PROXY,
    return503OnClosing: true,
    // One line per request (below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const migrations = await readMigrationFiles();
  app.decorate("config", config);
  app.decorate("service", {
    name: "gpt-platform-worker",
    version: PLATFORM_VERSION,
    instanceId: randomUUID(),
    startedAt: Date.now(),
    shuttingDown: false,
    engineStarted: false,
    expectedMigration: migrations.at(-1)?.version ?? 0,
  });
  initSentry({ dsn: config.SENTRY_DSN, environment: config.SENTRY_ENVIRONMENT, release: PLATFORM_VERSION, serverName: hostname() });
  app.decorate(
    "metrics",
    createWorkerMetrics(
      {
        depth: async () =>
          (await queueDepthAll(app.db.owner, allQueueNames())).flatMap(({ queue, ...states }) =>
            Object.entries(states).map(([state, count]) => ({ queue, state, count })),
          ),
        workersAlive: async () => (await workerInstancesAlive(app.db.owner, 30)).length,
        backupStatus: () => backupStatusRead(app.db.owner),
      },
      jobCatalogue.map((job) => job.name),
    ),
  );

  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    app.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    app.metrics.httpRequestSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      "request",
    );
  });
  app.addHook("preClose", async () => {
    app.service.shuttingDown = true;
  });
  app.addHook("onClose", async () => {
    await flushSentry(2000);
  });

  await app.register(errorHandlerPlugin);
  await app.register(jsonBodyPlugin);
  await app.register(databasePlugin);
  await app.register(queueEnginePlugin, { runsMaintenance: runJobs });
  if (runJobs) {
    await app.register(jobRunnerPlugin);
    await app.register(housekeepingPlugin);
  } else app.decorate("runner", null);
  await app.register(authPlugin);
  await app.register(rateLimitPlugin);
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(jobsRoutes);
  await app.register(queuesRoutes);
  await app.register(subscriptionsRoutes);
  await app.register(apiDocsRoutes);
  await app.ready();
  await warmEnqueuePath(app.db, app.jobs, warmAppConnections(app.config.DATABASE_POOL_MAX)).catch((error: Error) =>
    app.log.warn({ err: error }, "warming the API's database connections failed; the first requests will be slower"),
  );
  // Routes and plugins are typed against Fastify's base logger; the pino instance satisfies it.
  return app as unknown as FastifyInstance;
}
