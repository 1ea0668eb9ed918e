import type { z } from "zod";

/** One problem with one field of a payload, addressed by its path (e.g. "payload.delayMs"). */
export interface FieldProblem {
  field: string;
  message: string;
}

export class UnknownJobTypeError extends Error {
  readonly type: string;
  readonly knownTypes: readonly string[];

  constructor(type: string, knownTypes: readonly string[]) {
    super(`unknown job type "${type}"; known types: ${knownTypes.join(", ")}`);
    this.name = "UnknownJobTypeError";
    this.type = type;
    this.knownTypes = knownTypes;
  }
}

export class PayloadInvalidError extends Error {
  readonly type: string;
  readonly problems: readonly FieldProblem[];

  constructor(type: string, problems: readonly FieldProblem[]) {
    super(`payload for ${type} is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.name = "PayloadInvalidError";
    this.type = type;
    this.problems = problems;
  }
}

/** Raised when a queue's policy (singleton, short, ...) refuses the job because a twin is already queued. */
export class JobNotQueuedError extends Error {
  readonly type: string;

  constructor(type: string, reason: string) {
    super(`job of type ${type} was not queued: ${reason}`);
    this.name = "JobNotQueuedError";
    this.type = type;
  }
}

/** An idempotency key was sent again with a different payload: almost always a client bug. */
export class IdempotencyConflictError extends Error {
  readonly jobId: string;

  constructor(jobId: string) {
    super(`this idempotency key already created job ${jobId} with a different payload; use a new key for a different job`);
    this.name = "IdempotencyConflictError";
    this.jobId = jobId;
  }
}

/** The quotas a plan sets on enqueueing (app.plans, migrations/0016). */
export type EnqueueQuota = "jobs_per_day" | "max_waiting_jobs";

/** The SQLSTATE ops.enqueue_many raises when a call would pass a quota (nothing was enqueued). */
export const QUOTA_EXCEEDED_SQLSTATE = "GQ001";

/** An enqueue refused because it would pass one of the organisation's plan quotas; nothing was enqueued. */
export class QuotaExceededError extends Error {
  readonly quota: EnqueueQuota;
  readonly plan: string;
  readonly limit: number;
  readonly used: number;
  readonly requested: number;
  /** When the quota starts over (jobs per day), or null when room comes back as jobs start (waiting jobs). */
  readonly resetsAt: Date | null;

  constructor(
    message: string,
    detail: { quota: EnqueueQuota; plan: string; limit: number; used: number; requested: number; resetsAt: string | null },
  ) {
    super(message);
    this.name = "QuotaExceededError";
    this.quota = detail.quota;
    this.plan = detail.plan;
    this.limit = detail.limit;
    this.used = detail.used;
    this.requested = detail.requested;
    this.resetsAt = detail.resetsAt === null ? null : new Date(detail.resetsAt);
  }

  /** The database's GQ001 error as this error, or undefined for any other error. */
  static fromDatabase(error: unknown): QuotaExceededError | undefined {
    const { code, message, detail } = error as { code?: string; message?: string; detail?: string };
    if (code !== QUOTA_EXCEEDED_SQLSTATE || !detail) return undefined;
    return new QuotaExceededError(message ?? "quota exceeded", JSON.parse(detail));
  }
}

/**
 * Flattens zod issues into one problem per field, each path prefixed (e.g. "payload"). An unknown
 * key becomes a problem on that key, so the caller sees which field to remove.
 */
export function fieldProblems(issues: readonly z.core.$ZodIssue[], prefix: string): FieldProblem[] {
  const join = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join(".");
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ field: join([...issue.path, key]), message: "is not a known field" }))
      : [{ field: join(issue.path), message: issue.message }],
  );
}
