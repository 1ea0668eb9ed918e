import type { FastifyInstance, FastifyRequest } from "fastify";
import { allQueueNames, jobCatalogue } from "../../core/jobs/catalogue.ts";
import { queueDepthAll } from "../../core/jobs/job-queries.ts";
import { rollupStatsByQueue } from "../../core/jobs/rollups.ts";
import { workerInstancesAlive } from "../../core/jobs/worker-instances.ts";
import { metricsRefusal } from "../../core/observability/metrics-access.ts";
import { HttpError } from "../http-error.ts";

/** The shared rule (core/observability/metrics-access.ts), as a Fastify onRequest hook. */
function metricsAccess(app: FastifyInstance) {
  const token = app.config.METRICS_TOKEN;
  return async (request: FastifyRequest) => {
    const refusal = metricsRefusal(token, request.headers.authorization, request.socket.remoteAddress);
    if (refusal) throw new HttpError(refusal.status, refusal.code, refusal.message);
  };
}

export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const onRequest = metricsAccess(app);

  app.get("/metrics/prometheus", { onRequest }, async (_request, reply) => {
    const text = await app.metrics.registry.metrics();
    return reply.type(app.metrics.registry.contentType).send(text);
  });

  app.get("/metrics", { onRequest }, async () => {
    // Our own unwritten outcomes first, so this answer includes everything this process finished.
    await app.runner?.flushRollups();
    const types = jobCatalogue.map((job) => job.name);
    const [depth, stats, alive] = [
      await queueDepthAll(app.db.owner, allQueueNames()),
      await rollupStatsByQueue(app.db.owner, types),
      await workerInstancesAlive(app.db.owner, 30),
    ];
    const depthOf = new Map(depth.map((d) => [d.queue, d]));
    const memory = process.memoryUsage();
    return {
      service: app.service.name,
      version: app.service.version,
      instanceId: app.service.instanceId,
      uptimeSeconds: Math.round((Date.now() - app.service.startedAt) / 1000),
      generatedAt: new Date().toISOString(),
      process: { pid: process.pid, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      concurrency: {
        jobConcurrency: app.config.JOB_CONCURRENCY,
        fetchLoops: app.config.JOB_FETCH_LOOPS,
        inFlight: app.runner?.runner.inFlight ?? 0,
      },
      workersAlive: alive.length,
      queues: stats.map((s) => {
        const job = jobCatalogue.find((j) => j.name === s.queue)!;
        const { queue: _q, ...d } = depthOf.get(s.queue)!;
        const dead = depthOf.get(job.deadLetterQueue)!;
        return {
          queue: s.queue,
          depth: { ...d, deadLettered: dead.queued + dead.deferred },
          throughput: s.windows,
          runTimeMs: s.runTimeMs,
          pickupMs: s.pickupMs,
        };
      }),
    };
  });
}
