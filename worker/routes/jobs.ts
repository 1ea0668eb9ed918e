import type { FastifyInstance } from "fastify";
import { withOrg, type OrgTransaction } from "../../core/db/org-scope.ts";
import { cancelJob, retryJob } from "../../core/jobs/job-actions.ts";
import { attemptsStarted, jobGetForOrg, outputIsError, type JobRecord } from "../../core/jobs/job-queries.ts";
import { snoozesOfJob, type JobSnoozeRecord } from "../../core/jobs/job-snoozes.ts";
import { HttpError } from "../http-error.ts";
import { apiGuard } from "../plugins/api-guard.ts";
import { bulkCreateJobsBody, createJobBody, jobIdParams, type CreateJobBody } from "./api-schemas.ts";
import { parseRequest } from "./parse.ts";

/** Room in a request body for the fields around the payload itself. */
const ENVELOPE_BYTES = 16 * 1024;

/**
 * The jobs API. Every route authenticates a bearer token, is rate limited per client address and per
 * token, and works inside a transaction scoped to the token's organisation, so the database limits
 * what it can see and change. Errors from core (unknown type, invalid payload, ...) are mapped to
 * HTTP by the error handler.
 */
export async function jobsRoutes(app: FastifyInstance): Promise<void> {
  const { config } = app;
  const reading = [apiGuard(app, "jobs:read")];
  const writing = [apiGuard(app, "jobs:write")];

  const checkPayloadSize = (payload: unknown, index?: number) => {
    const bytes = Buffer.byteLength(JSON.stringify(payload ?? {}));
    if (bytes > config.MAX_PAYLOAD_BYTES) {
      const which = index === undefined ? "payload" : `jobs[${index}].payload`;
      throw new HttpError(413, "payload_too_large", `${which} is ${bytes} bytes; the limit is ${config.MAX_PAYLOAD_BYTES} bytes`, {
        limitBytes: config.MAX_PAYLOAD_BYTES,
        ...(index === undefined ? {} : { index }),
      });
    }
  };
  const toEnqueue = (body: CreateJobBody) => ({
    type: body.type,
    payload: body.payload ?? {},
    options: { priority: body.priority, startAfter: startAfterOption(body.startAfter), idempotencyKey: body.idempotencyKey },
  });

  app.post("/api/jobs", { onRequest: writing, bodyLimit: config.MAX_PAYLOAD_BYTES + ENVELOPE_BYTES }, async (request, reply) => {
    const body = parseRequest(createJobBody, request.body, "body");
    checkPayloadSize(body.payload);
    const job = toEnqueue(body);
    // Nothing else to commit with it: one prepared statement, as the app role, for the token's organisation.
    const result = await app.jobs.enqueueStandalone(request.auth!.org, job.type, job.payload, job.options);
    return reply.code(result.created ? 201 : 200).send({ id: result.id });
  });

  app.post("/api/jobs/bulk", { onRequest: writing, bodyLimit: config.MAX_BULK_BODY_BYTES }, async (request, reply) => {
    const body = parseRequest(bulkCreateJobsBody(config.MAX_BULK_JOBS), request.body, "body");
    for (const [index, job] of body.jobs.entries()) checkPayloadSize(job.payload, index);
    const results = await withOrg(app.db.app, request.auth!.org, (trx) => app.jobs.enqueueMany(trx, body.jobs.map(toEnqueue)));
    return reply.code(201).send({ ids: results.map((r) => r.id) });
  });

  app.get("/api/jobs/:id", { onRequest: reading }, async (request) => {
    const { id } = parseRequest(jobIdParams, request.params, "params");
    const view = await withOrg(app.db.app, request.auth!.org, async (trx) => {
      const job = await jobGetForOrg(trx, id);
      return job && jobResponse(trx, job);
    });
    if (!view) throw jobNotFound(id);
    return view;
  });

  app.post("/api/jobs/:id/retry", { onRequest: writing }, async (request) => {
    const { id } = parseRequest(jobIdParams, request.params, "params");
    return withOrg(app.db.app, request.auth!.org, async (trx) => jobResponse(trx, await retryJob(trx, app.boss, id)));
  });

  app.post("/api/jobs/:id/cancel", { onRequest: writing }, async (request) => {
    const { id } = parseRequest(jobIdParams, request.params, "params");
    return withOrg(app.db.app, request.auth!.org, async (trx) => jobResponse(trx, await cancelJob(trx, app.boss, id)));
  });
}

function jobNotFound(id: string): HttpError {
  // Another organisation's job is indistinguishable from a missing one: 404 either way.
  return new HttpError(404, "job_not_found", `no job ${id} in this organisation`);
}

function startAfterOption(value: string | number | undefined): Date | number | undefined {
  return typeof value === "string" ? new Date(value) : value;
}

/** A job as the API shows it, with its snoozes (read in the same organisation-scoped transaction). */
async function jobResponse(trx: OrgTransaction, job: JobRecord) {
  return jobView(job, await snoozesOfJob(trx, job.id));
}

export function jobView(job: JobRecord, snoozes: readonly JobSnoozeRecord[]) {
  return {
    id: job.id,
    type: job.type,
    state: job.state,
    priority: job.priority,
    attempts: attemptsStarted(job),
    retryLimit: job.retryLimit,
    createdAt: job.createdAt.toISOString(),
    startAfter: job.startAfter.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    completedAt: job.completedAt?.toISOString() ?? null,
    payload: job.payload,
    output: job.state === "completed" ? job.output : null,
    error: outputIsError(job) ? (job.output ?? null) : null,
    deadLetteredFrom: job.deadLetteredFrom,
    snoozes: snoozes.map((s) => ({
      attempt: s.attempt,
      kind: s.kind,
      reason: s.reason,
      snoozedAt: s.snoozedAt.toISOString(),
      until: s.until.toISOString(),
    })),
  };
}
