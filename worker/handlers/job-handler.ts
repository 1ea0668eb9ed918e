import type { z } from "zod";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { OrgTransaction } from "../../core/db/org-scope.ts";
import type { JobType, PayloadOf } from "../../core/jobs/define-job.ts";
import type { JobClient } from "../../core/jobs/enqueue.ts";

/** What a handler gets besides its payload. */
export interface JobContext {
  jobId: string;
  type: string;
  orgId: string;
  /** 1 for the first run, 2 for the first retry, ... */
  attempt: number;
  /** Aborted when the worker loses the job (expiry, lost heartbeat) or shuts down past its deadline. */
  signal: AbortSignal;
  log: Logger;
  /** Runs work in a transaction scoped to the job's organisation (row-level security applies). */
  withOrg<T>(work: (trx: OrgTransaction) => Promise<T>): Promise<T>;
  /** For follow-up jobs; pass the withOrg transaction so they commit with the handler's writes. */
  jobs: JobClient;
  /**
   * Ends this attempt without spending it: the job waits `seconds`, then runs again with the same
   * attempt number. For an upstream that said "not now" (a 429 and its Retry-After); with
   * `rateLimited`, the job type's rate-limit budgets for this job hold back every other job too.
   * A job may snooze itself its type's maxSnoozes times, then it fails with `reason`.
   */
  snooze(seconds: number, options?: { reason?: string; rateLimited?: boolean }): never;
}

export type JobHandler<J extends JobType> = (payload: PayloadOf<J>, context: JobContext) => Promise<z.input<J["result"]>>;

/**
 * Thrown by a handler when another attempt cannot succeed (the input is wrong, the remote side
 * refused for good). The job skips its remaining retries and goes to the dead-letter queue.
 */
export class PermanentJobError extends Error {
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "PermanentJobError";
    this.details = details;
  }
}

/** Longest a handler may snooze in one go: a job that must wait longer should be scheduled, not held. */
export const MAX_SNOOZE_SECONDS = 24 * 60 * 60;

/** Thrown by ctx.snooze(): the runner puts the job back to waiting instead of counting a failure. */
export class JobSnooze extends Error {
  readonly seconds: number;
  readonly rateLimited: boolean;

  constructor(seconds: number, reason: string, rateLimited: boolean) {
    super(reason);
    this.name = "JobSnooze";
    this.seconds = Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX_SNOOZE_SECONDS) : 1;
    this.rateLimited = rateLimited;
  }
}
