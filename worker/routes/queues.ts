import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { withOrg } from "../../core/db/org-scope.ts";
import { findJobType, jobCatalogue, jobTypeNames } from "../../core/jobs/catalogue.ts";
import { queueDepthForOrg } from "../../core/jobs/job-queries.ts";
import { queuePauseForOrg, queuePausesForOrg, queueResume, type QueuePause } from "../../core/jobs/queue-pauses.ts";
import { rollupTotalsSince } from "../../core/jobs/rollups.ts";
import { HttpError } from "../http-error.ts";
import { apiGuard } from "../plugins/api-guard.ts";
import { parseRequest } from "./parse.ts";

const queueParams = z.object({ type: z.string().max(100) });
const pauseBody = z.strictObject({ reason: z.string().max(500).optional().describe("Shown with the pause.") }).optional();

/**
 * GET /api/queues: the token's organisation's jobs per type, by state, the last 24 hours'
 * outcomes and what is paused. POST /api/queues/:type/pause and /resume: the organisation's own
 * pause of a job type (its jobs stay waiting; an operator's pause for everyone is lifted only by
 * an operator, ops.resume_queue).
 */
export async function queuesRoutes(app: FastifyInstance): Promise<void> {
  app.get("/api/queues", { onRequest: apiGuard(app, "jobs:read") }, async (request) => {
    const types = jobCatalogue.map((job) => job.name);
    const deadLetterQueues = jobCatalogue.map((job) => job.deadLetterQueue);
    const [depth, totals, pauses] = await withOrg(
      app.db.app,
      request.auth!.org,
      async (trx) =>
        [
          await queueDepthForOrg(trx, [...types, ...deadLetterQueues]),
          await rollupTotalsSince(trx, types, 24),
          await queuePausesForOrg(trx),
        ] as const,
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
          paused: pausedView(job.name, pauses),
        };
      }),
    };
  });

  app.post("/api/queues/:type/pause", { onRequest: apiGuard(app, "jobs:write") }, async (request) => {
    const type = knownType(parseRequest(queueParams, request.params, "params").type);
    const body = parseRequest(pauseBody, request.body ?? undefined, "body");
    const pauses = await withOrg(app.db.app, request.auth!.org, async (trx) => {
      await queuePauseForOrg(trx, type, `token:${request.auth!.sub}`, body?.reason ?? null);
      return queuePausesForOrg(trx);
    });
    return { type, paused: pausedView(type, pauses) };
  });

  app.post("/api/queues/:type/resume", { onRequest: apiGuard(app, "jobs:write") }, async (request) => {
    const type = knownType(parseRequest(queueParams, request.params, "params").type);
    const { resumed, pauses } = await queueResume(app.db, request.auth!.org, type);
    return { type, resumed, paused: pausedView(type, pauses) };
  });
}

function knownType(type: string): string {
  if (findJobType(type)) return type;
  throw new HttpError(404, "unknown_job_type", `no job type "${type}"`, { knownTypes: jobTypeNames() });
}

/** The pauses holding back `type`'s jobs for this organisation: its own, and an operator's for everyone. */
function pausedView(type: string, pauses: readonly QueuePause[]) {
  const view = (pause: QueuePause | undefined) =>
    pause ? { pausedAt: pause.pausedAt.toISOString(), pausedBy: pause.pausedBy, reason: pause.reason } : null;
  return {
    byOrganisation: view(pauses.find((p) => p.queue === type && p.ownOrganisation)),
    forEveryone: view(pauses.find((p) => p.queue === type && !p.ownOrganisation)),
  };
}
