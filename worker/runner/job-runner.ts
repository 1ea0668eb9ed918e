import type { JobResult, JobWithMetadata, PgBoss } from "pg-boss";
import type { AppDatabase } from "../../core/db/connect.ts";
import { isUuid, withOrg } from "../../core/db/org-scope.ts";
import type { JobClient } from "../../core/jobs/enqueue.ts";
import { fieldProblems } from "../../core/jobs/errors.ts";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { RegisteredHandler } from "../handlers/index.ts";
import type { JobOutcome } from "../metrics/rollup-buffer.ts";
import { PermanentJobError, type JobContext } from "./job-handler.ts";

export interface JobRunnerOptions {
  boss: PgBoss;
  appDb: AppDatabase;
  jobs: JobClient;
  handlers: ReadonlyMap<string, RegisteredHandler>;
  /** Handlers of one fetched batch that run at the same time. */
  concurrency: number;
  /** Independent fetch loops per job type (pg-boss localConcurrency). */
  fetchLoops: number;
  /** Backstop poll when no NOTIFY arrives (new retries, deferred jobs coming due). */
  pollIntervalSeconds: number;
  log: Logger;
  /** Called once per finished attempt, from the hot path: keep it cheap and synchronous. */
  onOutcome: (outcome: JobOutcome) => void;
  onFinalFailure: (error: Error, job: { queue: string; jobId: string; orgId: string | null; attempt: number }) => void;
  onInFlightChange: (queue: string, delta: number) => void;
}

/** Longest stack kept with a failed job; the top frames are the useful ones. */
const MAX_STACK_CHARS = 8000;

/**
 * Runs the job handlers. Per job type, pg-boss fetches batches (bursting while they come back full,
 * woken by NOTIFY), this class runs each batch's jobs with bounded concurrency, and pg-boss settles
 * every job with its own result or error in one statement per outcome.
 */
export class JobRunner {
  readonly #options: JobRunnerOptions;
  #inFlight = 0;
  /** Set when shutdown begins: a handler aborted after this was abandoned, not broken. */
  stopping = false;

  constructor(options: JobRunnerOptions) {
    this.#options = options;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async start(): Promise<void> {
    const { boss, handlers, fetchLoops, pollIntervalSeconds } = this.#options;
    for (const entry of handlers.values()) {
      await boss.work(
        entry.type.name,
        {
          batchSize: entry.type.worker.batchSize,
          localConcurrency: fetchLoops,
          burstWhenBatchFull: true,
          includeMetadata: true,
          perJobResults: true,
          pollingIntervalSeconds: pollIntervalSeconds,
          notifyPollingIntervalSeconds: pollIntervalSeconds,
        },
        (batch) => this.#runBatch(entry, batch),
      );
    }
  }

  async #runBatch(entry: RegisteredHandler, batch: JobWithMetadata<unknown>[]): Promise<JobResult[]> {
    const results = new Array<JobResult>(batch.length);
    let next = 0;
    const lane = async () => {
      while (next < batch.length) {
        const index = next++;
        results[index] = await this.#runOne(entry, batch[index]!);
      }
    };
    const lanes = Math.min(this.#options.concurrency, batch.length);
    await Promise.all(Array.from({ length: lanes }, lane));
    return results;
  }

  async #runOne(entry: RegisteredHandler, job: JobWithMetadata<unknown>): Promise<JobResult> {
    const { appDb, jobs, log, onOutcome, onFinalFailure, onInFlightChange } = this.#options;
    const queue = entry.type.name;
    const orgId = job.groupId ?? null;
    const attempt = job.retryCount + 1;
    const pickupMs = job.startedOn && job.startAfter ? job.startedOn.getTime() - job.startAfter.getTime() : null;
    const started = performance.now();
    this.#inFlight++;
    onInFlightChange(queue, 1);
    try {
      const parsed = entry.type.payload.safeParse(job.data);
      if (!parsed.success) {
        // Jobs can be written by older code or by hand from psql: check before trusting.
        throw new PermanentJobError(`payload does not match the ${queue} schema`, {
          problems: fieldProblems(parsed.error.issues, "payload"),
        });
      }
      if (!isUuid(orgId)) {
        throw new PermanentJobError("job carries no organisation id (pg-boss group id); send jobs through enqueue()");
      }
      let childLog: Logger | undefined;
      const context: JobContext = {
        jobId: job.id,
        type: queue,
        orgId,
        attempt,
        signal: job.signal,
        get log() {
          return (childLog ??= log.child({ queue, jobId: job.id, orgId, attempt }));
        },
        withOrg: (work) => withOrg(appDb, orgId, work),
        jobs,
      };
      const result = entry.type.result.safeParse(await entry.handler(parsed.data, context));
      if (!result.success) {
        throw new PermanentJobError(`handler returned a result that does not match the ${queue} result schema`, {
          problems: fieldProblems(result.error.issues, "result"),
        });
      }
      onOutcome({ queue, orgId, status: "completed", runMs: performance.now() - started, pickupMs });
      return { id: job.id, status: "completed", output: result.data };
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      const permanent = error instanceof PermanentJobError;
      const final = permanent || job.retryCount >= job.retryLimit;
      onOutcome({ queue, orgId, status: final ? "failed" : "retried", runMs: performance.now() - started, pickupMs });
      const fields = { queue, jobId: job.id, orgId, attempt, retryLimit: job.retryLimit };
      if (this.stopping && job.signal.aborted) {
        log.info(fields, "job abandoned at the shutdown deadline; its queue hands it to another worker");
      } else {
        log[final ? "error" : "warn"](
          { ...fields, err: error },
          final ? "job failed for the last time; sent to its dead-letter queue" : "job attempt failed; it will be retried",
        );
      }
      if (final) onFinalFailure(error, { queue, jobId: job.id, orgId, attempt });
      return { id: job.id, status: permanent ? "deadletter" : "failed", output: errorOutput(error, attempt) };
    } finally {
      this.#inFlight--;
      onInFlightChange(queue, -1);
    }
  }
}

/** What a failed job keeps: enough to diagnose it from the API, the dashboard or psql. */
function errorOutput(error: Error, attempt: number): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    stack: error.stack?.slice(0, MAX_STACK_CHARS),
    attempt,
    ...(error instanceof PermanentJobError && error.details ? { details: error.details } : {}),
  };
}
