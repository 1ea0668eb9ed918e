import type { FastifyInstance } from "fastify";
import { withOrg } from "../../core/db/org-scope.ts";
import { jobCatalogue } from "../../core/jobs/catalogue.ts";
import { queueDepthForOrg } from "../../core/jobs/job-queries.ts";
import { rollupTotalsSince } from "../../core/jobs/rollups.ts";
import { apiGuard } from "../plugins/api-guard.ts";

/** GET /api/queues: the token's organisation's jobs per type, by state, and the last 24 hours' outcomes. */
export async function queuesRoutes(app: FastifyInstance): Promise<void> {
  app.get("/api/queues", { onRequest: apiGuard(app, "jobs:read") }, async (request) => {
    const types = jobCatalogue.map((job) => job.name);
    const deadLetterQueues = jobCatalogue.map((job) => job.deadLetterQueue);
    const [depth, totals] = await withOrg(
      app.db.app,
      request.auth!.org,
      async (trx) => [await queueDepthForOrg(trx, [...types, ...deadLetterQueues]), await rollupTotalsSince(trx, types, 24)] as const,
    );
    const depthOf = new Map(depth.map((d) => [d.queue, d]));
    return {
      queues: jobCatalogue.map((job, i) => {
        const d = depthOf.get(job.name)!;
        const dead = depthOf.get(job.deadLetterQueue)!;
        const t = totals[i]!;
        return {
          type: job.name,
          queued: d.queued,
          deferred: d.deferred,
          retry: d.retry,
          active: d.active,
          deadLettered: dead.queued + dead.deferred,
          last24h: { completed: t.completed, failed: t.failed, retried: t.retried },
        };
      }),
    };
  });
}
