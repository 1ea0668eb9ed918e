import { z } from "zod";
import { API_SCOPES } from "../../core/auth/api-token.ts";

/** Request and response shapes of the jobs API: validation in the routes and the OpenAPI document both come from here. */

const startAfter = z
  .union([
    z.iso.datetime({ offset: true }),
    z
      .int()
      .min(0)
      .max(365 * 24 * 3600),
  ])
  .describe("Do not start before this ISO 8601 time, or this many seconds from now.");

export const createJobBody = z.strictObject({
  type: z.string().min(1).max(100).describe("Job type, e.g. test-job (see GET /api-docs for each type's payload)."),
  payload: z
    .record(z.string(), z.json(), { error: "must be a JSON object; leave it out to send {}" })
    .optional()
    .describe("The job's input, a JSON object; validated against the job type's schema. Defaults to {}."),
  priority: z.int().min(-100).max(100).optional().describe("Higher runs first. Default 0."),
  startAfter: startAfter.optional(),
  idempotencyKey: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, { error: "must be printable ASCII without spaces" })
    .optional()
    .describe("Sending the same key again (same organisation and type) returns the first job instead of adding one."),
});
export type CreateJobBody = z.output<typeof createJobBody>;

export function bulkCreateJobsBody(maxJobs: number) {
  return z.strictObject({
    jobs: z
      .array(createJobBody)
      .min(1, { error: "must contain at least one job" })
      .max(maxJobs, { error: `may contain at most ${maxJobs} jobs` }),
  });
}

export const jobIdParams = z.object({ id: z.uuid({ error: "must be a job id (a UUID)" }) });

export const createdJob = z.object({ id: z.uuid() });
export const createdJobs = z.object({ ids: z.array(z.uuid()).describe("In request order.") });

export const jobState = z.enum(["created", "retry", "active", "completed", "cancelled", "failed"]);

export const jobView = z.object({
  id: z.uuid(),
  type: z.string(),
  state: jobState,
  priority: z.int(),
  attempts: z.int().describe("Attempts started so far."),
  retryLimit: z.int().describe("Retries allowed after the first attempt."),
  createdAt: z.iso.datetime(),
  startAfter: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  completedAt: z.iso.datetime().nullable(),
  payload: z.json(),
  output: z.json().nullable().describe("The handler's result once completed."),
  error: z.json().nullable().describe("The last failure (message, stack, attempt) for failed or retrying jobs."),
  deadLetteredFrom: z.string().nullable().describe("For a job in a dead-letter queue: the queue it failed on."),
  snoozes: z
    .array(
      z.object({
        attempt: z.int().describe("The attempt that waited; a snooze never spends one."),
        kind: z
          .enum(["rate-limit", "handler"])
          .describe("rate-limit: its type's rate limit had no room yet; handler: the handler asked to wait (an upstream's 429)."),
        reason: z.string(),
        snoozedAt: z.iso.datetime(),
        until: z.iso.datetime().describe("When the job could start again."),
      }),
    )
    .describe("Each time the job went back to waiting without spending an attempt, oldest first."),
});

const pause = z.object({ pausedAt: z.iso.datetime(), pausedBy: z.string(), reason: z.string().nullable() }).nullable();
const queuePaused = z
  .object({
    byOrganisation: pause.describe("This organisation's own pause (POST /api/queues/{type}/pause)."),
    forEveryone: pause.describe("An operator's pause of the type for every organisation (ops.pause_queue)."),
  })
  .describe("What holds this type's jobs waiting; both null when nothing does.");

export const queueView = z.object({
  type: z.string(),
  queued: z.int(),
  deferred: z.int(),
  retry: z.int(),
  active: z.int(),
  deadLettered: z.int().describe("Jobs of this type waiting in its dead-letter queue."),
  last24h: z.object({ completed: z.int(), failed: z.int(), retried: z.int() }),
  paused: queuePaused,
});
export const queuesResponse = z.object({ queues: z.array(queueView) });
export const pauseResponse = z.object({ type: z.string(), paused: queuePaused });
export const resumeResponse = z.object({
  type: z.string(),
  resumed: z.boolean().describe("Whether the organisation had paused this type."),
  paused: queuePaused,
});

const quotaName = z.enum(["max_waiting_jobs", "jobs_per_day", "llm_tokens_per_month"]);
export const subscriptionResponse = z.object({
  plan: z.object({
    id: z.string(),
    name: z.string(),
    fairShareWeight: z
      .int()
      .describe(
        "The plan's weight for sharing a busy queue with other organisations: when several have jobs ready, each claim gives them jobs in proportion to their weights.",
      ),
    maxRunningPerQueue: z
      .int()
      .nullable()
      .describe(
        "The plan's cap on jobs of one type running (claimed by a worker) at once, across all workers; more wait until running ones finish. null: no limit.",
      ),
  }),
  quotas: z.array(
    z.object({
      quota: quotaName,
      limit: z.int().nullable().describe("null: the plan sets no limit."),
      used: z.int(),
      resetsAt: z.string().nullable().describe("When the count starts over (UTC); null for waiting jobs, which free up as jobs start."),
      fraction: z.number().nullable().describe("used / limit."),
    }),
  ),
  closest: quotaName.nullable().describe("The quota nearest its limit."),
});

export const errorResponse = z.object({
  statusCode: z.int(),
  error: z.string(),
  code: z.string(),
  message: z.string(),
  fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  knownTypes: z.array(z.string()).optional(),
  retryAfterSeconds: z.int().optional(),
  quota: quotaName.optional().describe("quota_exceeded: the quota the request would pass; nothing was enqueued."),
  limit: z.int().optional(),
  used: z.int().optional(),
  requested: z.int().optional(),
  resetsAt: z.string().nullable().optional().describe("quota_exceeded: when the quota starts over (see also Retry-After)."),
});

export const scopes = API_SCOPES;
