import { setTimeout as delay } from "node:timers/promises";
import type { FastifyBaseLogger } from "fastify";
import type pg from "pg";
import type { PgBoss } from "pg-boss";
import { failedAttemptInsert } from "../../core/jobs/job-attempts.ts";
import type { RegisteredHandler } from "../handlers/index.ts";
import type { JobOutcome } from "../metrics/rollup-buffer.ts";
import type { ClaimedJob, Completion, QueueStatements } from "./job-sql.ts";
import { runJob, type AttemptResult, type RunJobDeps } from "./run-job.ts";

export interface FetchLoopOptions {
  entry: RegisteredHandler;
  statements: QueueStatements;
  pool: pg.Pool;
  boss: PgBoss;
  deps: RunJobDeps;
  /** Handlers of one batch that run at the same time. */
  concurrency: number;
  /** Backstop poll while idle; only a queue's first loop polls, its siblings wait to be woken. */
  pollIntervalMs: number | null;
  /** A claim came back full: there is a backlog, so sibling loops should join in. */
  onFullBatch: () => void;
  log: FastifyBaseLogger;
  onOutcome: (outcome: JobOutcome) => void;
  onFinalFailure: (error: Error, job: { queue: string; jobId: string; orgId: string | null; attempt: number }) => void;
}

/** A claimed job in this loop. Its abort signal is made on first use: most handlers never ask. */
class InFlight {
  readonly job: ClaimedJob;
  result?: AttemptResult;
  #controller: AbortController | undefined;

  constructor(job: ClaimedJob) {
    this.job = job;
  }

  get signal(): AbortSignal {
    return this.#abortController().signal;
  }

  get aborted(): boolean {
    return this.#controller?.signal.aborted ?? false;
  }

  abort(reason: Error): void {
    this.#abortController().abort(reason);
  }

  /** Made on first use: most jobs never look at their signal. */
  #abortController(): AbortController {
    this.#controller ??= new AbortController();
    return this.#controller;
  }
}

interface PendingCompletion {
  completion: Completion;
  outcome: JobOutcome;
}

/** Waiting longer than this after a failed statement would leave jobs idle for no reason. */
const ERROR_BACKOFF_MAX_MS = 5000;

/**
 * One fetch loop of one job type. Each turn is a single statement that completes the previous
 * batch and claims the next one; while batches come back full the loop goes straight on (burst)
 * and wakes its siblings, otherwise it sleeps until woken (a NOTIFY for its queue, a sibling's full
 * batch) or its backstop poll. Failures are settled through pg-boss (retry backoff, dead-letter
 * queue) as they happen.
 */
export class FetchLoop {
  readonly #o: FetchLoopOptions;
  readonly #queue: string;
  readonly #inFlight = new Map<string, InFlight>();
  #stopping = false;
  #abandoned = false;
  #notified = false;
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;

  constructor(options: FetchLoopOptions) {
    this.#o = options;
    this.#queue = options.entry.type.name;
  }

  get queue(): string {
    return this.#queue;
  }

  /** Jobs claimed by this loop and not yet settled in the database. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  start(): void {
    this.#done = this.#run().catch((error: Error) =>
      this.#o.log.error({ err: error, queue: this.#queue }, "fetch loop stopped unexpectedly"),
    );
  }

  /** True while the loop waits for work (as opposed to claiming or running a batch). */
  get sleeping(): boolean {
    return this.#wake !== undefined;
  }

  /**
   * Work may have arrived: a sleeping loop wakes at once; a busy one will not go to sleep after its
   * current turn (its last claim may have run before the job committed).
   */
  notify(): void {
    this.#notified = true;
    this.#wake?.();
  }

  /** Claims nothing more; finishes and settles the batch in hand. Resolves when the loop has ended. */
  stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    return this.#done ?? Promise.resolve();
  }

  /**
   * The shutdown deadline passed: completes what finished, hands the rest back to the queue, and
   * makes sure nothing this loop still runs will settle afterwards. Returns how many were handed back.
   */
  async abandon(): Promise<number> {
    this.#abandoned = true;
    const all = [...this.#inFlight.values()];
    const finished = all.filter((f) => f.result?.status === "completed");
    const unfinished = all.filter((f) => !f.result);
    for (const f of unfinished) f.abort(new Error("worker shutting down: job handed back to its queue"));
    if (finished.length > 0) {
      await this.#o.statements.claimAndComplete(
        this.#o.pool,
        finished.map((f) => ({
          id: f.job.id,
          retry_count: f.job.retry_count,
          outputJson: f.result!.status === "completed" ? f.result!.output : "null",
        })),
        0,
      );
    }
    if (unfinished.length > 0) {
      await this.#o.statements.release(
        this.#o.pool,
        unfinished.map((f) => f.job),
        {
          message: "the worker shut down before this attempt finished; the job went back to its queue",
          attempt: unfinished[0]!.job.retry_count + 1,
        },
      );
    }
    return unfinished.length;
  }

  async #run(): Promise<void> {
    const { statements, pool, entry, log } = this.#o;
    let pending: PendingCompletion[] = [];
    let errorBackoffMs = 100;
    while (!this.#abandoned) {
      const limit = this.#stopping ? 0 : entry.type.worker.batchSize;
      if (limit === 0 && pending.length === 0) return;
      let claimed: ClaimedJob[];
      try {
        const result = await statements.claimAndComplete(
          pool,
          pending.map((p) => p.completion),
          limit,
        );
        claimed = result.claimed;
        for (const p of pending) {
          this.#inFlight.delete(p.completion.id);
          // A completion the fence refused means the claim lapsed (expiry, lost heartbeat) and another
          // attempt owns the job now; its outcome is that attempt's to report.
          if (result.landed(p.completion.id)) this.#o.onOutcome(p.outcome);
          else log.warn({ queue: this.#queue, jobId: p.completion.id }, "job finished after its claim lapsed; the result was discarded");
        }
        pending = [];
        errorBackoffMs = 100;
      } catch (error) {
        if (this.#abandoned) return;
        log.error({ err: error, queue: this.#queue, retryInMs: errorBackoffMs }, "claiming or completing jobs failed; retrying");
        // A plain timer, not #sleep: while stopping, #sleep returns at once, and an unreachable
        // database would turn shutdown into a busy loop of failing statements.
        await delay(errorBackoffMs);
        errorBackoffMs = Math.min(errorBackoffMs * 2, ERROR_BACKOFF_MAX_MS);
        continue;
      }
      if (claimed.length === 0) {
        if (this.#stopping) return;
        await this.#sleep(this.#o.pollIntervalMs);
        continue;
      }
      if (claimed.length === limit) this.#o.onFullBatch();
      pending = await this.#runBatch(claimed);
    }
  }

  /** Sleeps until woken, stopped or `ms` passed (null: until woken); returns at once if woken meanwhile. */
  async #sleep(ms: number | null): Promise<void> {
    if (this.#notified || this.#stopping) {
      this.#notified = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = ms === null ? undefined : setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
    this.#notified = false;
  }

  async #runBatch(claimed: ClaimedJob[]): Promise<PendingCompletion[]> {
    const batch = claimed.map((job) => {
      const entry = new InFlight(job);
      this.#inFlight.set(job.id, entry);
      return entry;
    });
    const unwatch = this.#watch(batch);
    const completions: PendingCompletion[] = [];
    let next = 0;
    const lane = async () => {
      while (next < batch.length) {
        const item = batch[next++]!;
        item.result = await runJob(this.#o.entry, item.job, () => item.signal, this.#o.deps);
        if (this.#abandoned) return;
        const outcome: JobOutcome = {
          queue: this.#queue,
          orgId: item.job.group_id,
          status: "completed",
          runMs: item.result.runMs,
          pickupMs: item.job.pickup_ms,
        };
        if (item.result.status === "completed") {
          completions.push({ completion: { id: item.job.id, retry_count: item.job.retry_count, outputJson: item.result.output }, outcome });
        } else {
          await this.#settleFailure(item, item.result, outcome);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, batch.length) }, lane));
    } finally {
      unwatch();
    }
    return completions;
  }

  /**
   * Heartbeats for jobs with heartbeatSeconds, and the expiry deadline of the batch's handlers.
   * Returns the function that ends both when the batch is done.
   */
  #watch(batch: InFlight[]): () => void {
    let stopped = false;
    const expireSeconds = Math.min(...batch.map((b) => b.job.expire_seconds));
    const expiry = setTimeout(() => {
      for (const b of batch) if (!b.result) b.abort(new Error(`handler execution exceeded ${expireSeconds}s (expireInSeconds)`));
    }, expireSeconds * 1000);
    let heartbeat: NodeJS.Timeout | undefined;
    const heartbeats = batch.map((b) => b.job.heartbeat_seconds ?? 0).filter((s) => s > 0);
    if (heartbeats.length > 0) {
      const everyMs = (Math.min(...heartbeats) / 2) * 1000;
      const beat = async () => {
        const held = batch.filter((b) => this.#inFlight.has(b.job.id) && !b.aborted);
        if (held.length > 0) {
          try {
            const touched = await this.#o.boss.touch(
              this.#queue,
              held.map((b) => ({ id: b.job.id, retryCount: b.job.retry_count })),
            );
            // touch() is fenced to our attempts: a job it did not refresh belongs to someone else now.
            const refreshed = new Set((touched as { settled?: string[] }).settled ?? held.map((b) => b.job.id));
            for (const b of held)
              if (!refreshed.has(b.job.id)) b.abort(new Error(`job ${b.job.id} is no longer active under this worker's claim`));
          } catch (error) {
            this.#o.log.warn({ err: error, queue: this.#queue }, "heartbeat failed; will try again");
          }
        }
        if (!stopped) heartbeat = setTimeout(beat, everyMs);
      };
      heartbeat = setTimeout(beat, everyMs);
    }
    return () => {
      stopped = true;
      clearTimeout(expiry);
      clearTimeout(heartbeat);
    };
  }

  async #settleFailure(item: InFlight, result: Extract<AttemptResult, { status: "failed" }>, outcome: JobOutcome): Promise<void> {
    const { job } = item;
    const { boss, statements, pool, log } = this.#o;
    const attempt = job.retry_count + 1;
    const final = result.permanent || job.retry_count >= job.retry_limit;
    try {
      if (result.permanent && job.retry_count < job.retry_limit) await statements.exhaustRetries(pool, job);
      // pg-boss's fail() applies the retry delay and backoff, or moves the job to its dead-letter queue.
      await boss.fail(this.#queue, { id: job.id, retryCount: job.retry_count }, result.output);
    } catch (error) {
      log.error(
        { err: error, queue: this.#queue, jobId: job.id },
        "could not record a job failure; supervision will retry the job when its claim expires",
      );
      return;
    } finally {
      this.#inFlight.delete(job.id);
    }
    this.#o.onOutcome({ ...outcome, status: final ? "failed" : "retried" });
    if (job.group_id) {
      // The attempts timeline; the failure itself is already safe in pg-boss, so losing this row only costs history.
      const insert = failedAttemptInsert({
        orgId: job.group_id,
        jobId: job.id,
        attempt,
        runMs: result.runMs,
        message: result.error.message,
        final,
      });
      await pool
        .query(insert.text, insert.values)
        .catch((error: Error) => log.warn({ err: error, jobId: job.id }, "could not record the failed attempt's history"));
    }
    const fields = { queue: this.#queue, jobId: job.id, orgId: job.group_id, attempt, retryLimit: job.retry_limit };
    if (final) {
      log.error({ ...fields, err: result.error }, "job failed for the last time; sent to its dead-letter queue");
      this.#o.onFinalFailure(result.error, { queue: this.#queue, jobId: job.id, orgId: job.group_id, attempt });
    } else {
      log.warn({ ...fields, err: result.error }, "job attempt failed; it will be retried");
    }
  }
}
