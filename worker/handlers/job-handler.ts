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
