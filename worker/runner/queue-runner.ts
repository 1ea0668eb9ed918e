import type { FastifyBaseLogger } from "fastify";
import type pg from "pg";
import type { PgBoss } from "pg-boss";
import { isUuid } from "../../core/db/org-scope.ts";
import { failedAttemptInsert } from "../../core/jobs/job-attempts.ts";
import { rateLimitSpends, type RateLimitSpend } from "../../core/jobs/rate-limits.ts";
import type { RegisteredHandler } from "../handlers/index.ts";
import { PermanentJobError } from "../handlers/job-handler.ts";
import type { JobOutcome } from "../metrics/rollup-buffer.ts";
import { ClaimSizing, claimableSize } from "./claim-sizing.ts";
import { DueTimer } from "./due-timer.ts";
import { FairBuffer } from "./fair-buffer.ts";
import type { ClaimedJob, Completion, QueueStatements, Snooze } from "./job-sql.ts";
import { handlerSnoozeCount, rateLimitAdmit, rateLimitPush, type Admission } from "./rate-limit-sql.ts";
import { failedAttempt, runJob, type AttemptResult, type RunJobDeps } from "./run-job.ts";

export interface QueueRunnerOptions {
  entry: RegisteredHandler;
  statements: QueueStatements;
  pool: pg.Pool;
  boss: PgBoss;
  deps: RunJobDeps;
  /** Handlers of this job type running at once in this process (JOB_CONCURRENCY). */
  concurrency: number;
  /** Claim statements in flight at once for this job type (JOB_FETCH_LOOPS). */
  claimsAtOnce: number;
  /** Backstop poll while the queue looks empty and no NOTIFY arrives (retries and deferred jobs coming due). */
  pollIntervalMs: number;
  log: FastifyBaseLogger;
  onOutcome: (outcome: JobOutcome) => void;
  onFinalFailure: (error: Error, job: { queue: string; jobId: string; orgId: string | null; attempt: number }) => void;
}

/** A job this process has claimed and not yet settled in the database. */
class Held {
  readonly job: ClaimedJob;
  /** When the claim came back (performance.now()): the expiry deadline counts from the claim, as pg-boss's does. */
  readonly claimedAt: number;
  result?: AttemptResult;
  /** Times this job missed its booked start and booked another (rate-limited types). */
  lateRebookings = 0;
  #controller: AbortController | undefined;

  constructor(job: ClaimedJob, claimedAt: number) {
    this.job = job;
    this.claimedAt = claimedAt;
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
 * Completion-only statements in flight at once. Two: jobs that finish while one is in flight go
 * out at once in a second instead of waiting for it (on a busy 2-CPU host a completion statement
 * took 50-100 ms, and every job finishing meanwhile waited that long for its completed state).
 */
const COMPLETIONS_AT_ONCE = 2;
/** How often running jobs are checked against their expiry and heartbeats are considered. */
const TICK_MS = 1000;
/**
 * A rate-limited job whose budgets allow a start within this long waits for it in memory, holding
 * its slot; a later start snoozes it in the database instead, so no process hoards jobs that wait.
 */
const ADMIT_HOLD_SECONDS = 1;
/** A booked start missed by more than this books again (see #startBooked): well inside RATE_LIMIT_MARGIN's slack. */
const LATE_START_MS = 25;
const MAX_LATE_REBOOKINGS = 2;
/** Longest reason kept with a snooze. */
const SNOOZE_REASON_MAX = 2000;

type Snoozed = Extract<AttemptResult, { status: "snoozed" }>;

/**
 * Runs one job type in this process. Claims fill `concurrency` handler slots plus a prefetch sized
 * to what the slots will start soon (ClaimSizing); each job is completed as it finishes: at once
 * when no completion statement is in flight, else together with every other job that finished
 * meanwhile (group commit: no added wait at low load, large statements under a burst), or carried
 * by the next claim when one goes out first. So a finished job never waits for its batch-mates,
 * and after a crash only the jobs that were running or about to run are run again. Failures are settled
 * through pg-boss (retry backoff, dead-letter queue) as they happen. A job type with rate limits
 * books each job's start from its budgets before the job takes its slot, and a job that must wait
 * longer, or whose handler asks to, snoozes back to waiting without spending an attempt
 * (docs/decisions/011).
 */
export class QueueRunner {
  readonly #o: QueueRunnerOptions;
  readonly #queue: string;
  readonly #sizing: ClaimSizing;
  /** Every job claimed and not yet settled in the database: running, waiting for a slot, or finished. */
  readonly #held = new Map<string, Held>();
  readonly #running = new Set<Held>();
  /** Claimed, waiting for a slot: in turn between organisations, oldest first within each. */
  readonly #waiting = new FairBuffer<Held>();
  /** Finished, completion not yet sent. */
  #done: PendingCompletion[] = [];
  #claimsInFlight = 0;
  /** Jobs asked for by the claims in flight. */
  #requested = 0;
  #completionsInFlight = 0;
  /** Set while a completion statement is scheduled; calling it cancels that. */
  #cancelScheduledFlush: (() => void) | undefined;
  /** The last claim came back short: wait for a NOTIFY or the poll before claiming again. */
  #exhausted = false;
  /** The last claim left jobs waiting under a plan's cap on running jobs (see #settled). */
  #capHeld = false;
  /** The organisation the last claim's turn reached: the next claim starts after it (round robin). */
  #cursor = "";
  /** A claim sent for a NOTIFY while every claim slot was busy (at most one at a time). */
  #expressInFlight = false;
  /** A NOTIFY arrived since the last claim: the next claim goes out without waiting for a full batch's room. */
  #eager = false;
  /** Bumped by each NOTIFY, so a claim that raced a new job does not mark the queue empty. */
  #notifications = 0;
  #errorBackoffMs = 100;
  #backoffTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #lastHeartbeat = 0;
  #heartbeating = false;
  #stopping = false;
  #abandoned = false;
  #onIdle: (() => void) | undefined;
  /** Claims again when the jobs this runner snoozed come due. */
  readonly #snoozedDue = new DueTimer(() => this.#onSnoozedDue());

  constructor(options: QueueRunnerOptions) {
    this.#o = options;
    this.#queue = options.entry.type.name;
    this.#sizing = new ClaimSizing({
      concurrency: options.concurrency,
      batchSize: options.entry.type.worker.batchSize,
      claimsAtOnce: options.claimsAtOnce,
    });
  }

  get queue(): string {
    return this.#queue;
  }

  /** Jobs claimed by this process and not yet settled in the database. */
  get inFlight(): number {
    return this.#held.size;
  }

  /** Handlers running now. */
  get running(): number {
    return this.#running.size;
  }

  start(): void {
    this.#pollTimer = setInterval(() => {
      if (this.#exhausted) {
        this.#exhausted = false;
        this.#pump();
      }
    }, this.#o.pollIntervalMs);
    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
    this.#pump();
  }

  /** Work may have arrived (a NOTIFY for this queue, the listener reconnecting). */
  notify(): void {
    this.#notifications++;
    this.#exhausted = false;
    this.#eager = true;
    this.#pump();
    // Every claim slot busy or no room: a small claim of its own, so a job just queued (the quiet
    // organisation's, behind another's burst) is claimed in one short statement, not after the
    // big claims in flight and the next one. Only for quick job types, whose prefetch is at least
    // a round of slots, and never past one extra round: a slow type must not hoard on each NOTIFY.
    const size = claimableSize(this.#o.concurrency, this.#sizing.batchSize);
    const held = this.#running.size + this.#waiting.size + this.#requested;
    const quick = this.#sizing.prefetch >= this.#o.concurrency;
    const room = held + size <= 2 * this.#o.concurrency + this.#sizing.prefetch;
    if (this.#eager && quick && room && !this.#expressInFlight && !this.#stopping && !this.#abandoned && !this.#backoffTimer) {
      this.#eager = false;
      this.#claim(size, true);
    }
  }

  /**
   * Claims nothing more and hands jobs that have not started back to the queue unspent; running
   * jobs finish and are completed. Resolves when nothing is held any more.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#pollTimer);
    this.#snoozedDue.stop();
    await this.#unclaimWaiting();
    if (this.#held.size > 0 || this.#claimsInFlight > 0 || this.#expressInFlight) {
      await new Promise<void>((resolve) => {
        this.#onIdle = resolve;
        this.#flushSoon();
      });
    }
    clearInterval(this.#ticker);
  }

  /**
   * The shutdown deadline passed: completes what finished, hands the rest back to the queue, and
   * makes sure nothing this runner still runs will settle afterwards. Returns how many were handed back.
   */
  async abandon(): Promise<number> {
    this.#abandoned = true;
    clearInterval(this.#ticker);
    this.#snoozedDue.stop();
    this.#cancelFlush();
    clearTimeout(this.#backoffTimer);
    const unfinished = [...this.#running].filter((h) => !h.result);
    for (const h of unfinished) h.abort(new Error("worker shutting down: job handed back to its queue"));
    const done = this.#done.splice(0);
    if (done.length > 0)
      await this.#o.statements.claimAndComplete(
        this.#o.pool,
        done.map((d) => d.completion),
        0,
      );
    if (unfinished.length > 0) {
      await this.#o.statements.release(
        this.#o.pool,
        unfinished.map((h) => h.job),
        {
          message: "the worker shut down before this attempt finished; the job went back to its queue",
          attempt: unfinished[0]!.job.retry_count + 1,
        },
      );
    }
    return unfinished.length;
  }

  /** Starts claims while there is room for more work and the queue may have some. */
  #pump(): void {
    if (this.#stopping || this.#abandoned || this.#backoffTimer) return;
    while (this.#claimsInFlight < this.#o.claimsAtOnce && !this.#exhausted) {
      const waiting = this.#waiting.size + this.#requested;
      const limit = this.#sizing.claimSize(this.#running.size + waiting, waiting, this.#eager);
      if (limit === 0) break;
      this.#eager = false;
      this.#claim(limit);
    }
    if (this.#done.length > 0) this.#flushSoon();
  }

  /** One claim statement; it also carries every completion waiting to be sent. */
  #claim(limit: number, express = false): void {
    if (express) this.#expressInFlight = true;
    else this.#claimsInFlight++;
    this.#requested += limit;
    const sent = this.#takeDone();
    const notificationsBefore = this.#notifications;
    this.#o.statements
      .claimAndComplete(
        this.#o.pool,
        sent.map((d) => d.completion),
        limit,
        this.#cursor,
      )
      .then(
        (result) => {
          if (express) this.#expressInFlight = false;
          else this.#claimsInFlight--;
          this.#requested -= limit;
          this.#cursor = result.cursor;
          this.#settled(sent, result.landed);
          // Short, with no organisation that filled its share and no NOTIFY meanwhile: the queue is
          // empty for now, or what is left waits under a plan's cap. (Claims in flight at once may
          // answer out of order: one that was not short cannot clear what a short one found.)
          if (result.claimed.length < limit && !result.more && notificationsBefore === this.#notifications) {
            this.#exhausted = true;
            this.#capHeld = result.capped;
          } else if (result.capped) this.#capHeld = true;
          this.#accept(result.claimed);
          this.#pump();
          this.#checkIdle();
        },
        (error: Error) => {
          if (express) this.#expressInFlight = false;
          else this.#claimsInFlight--;
          this.#requested -= limit;
          this.#failedStatement(error, sent);
        },
      );
  }

  /** Sends the waiting completions on their own, unless a claim takes them first. */
  #flushSoon(): void {
    if (this.#cancelScheduledFlush || this.#completionsInFlight >= COMPLETIONS_AT_ONCE || this.#done.length === 0) return;
    // setImmediate: the jobs finishing in this turn of the event loop share the statement. No
    // longer wait: a 5 ms grouping window added 5 ms to every job at 100 jobs/s and gained no drain.
    const immediate = setImmediate(() => {
      this.#cancelScheduledFlush = undefined;
      this.#complete();
    });
    this.#cancelScheduledFlush = () => clearImmediate(immediate);
  }

  #cancelFlush(): void {
    this.#cancelScheduledFlush?.();
    this.#cancelScheduledFlush = undefined;
  }

  #complete(): void {
    if (this.#completionsInFlight >= COMPLETIONS_AT_ONCE || this.#backoffTimer || this.#abandoned || this.#done.length === 0) return;
    this.#completionsInFlight++;
    const sent = this.#takeDone();
    this.#o.statements
      .claimAndComplete(
        this.#o.pool,
        sent.map((d) => d.completion),
        0,
      )
      .then(
        (result) => {
          this.#completionsInFlight--;
          this.#settled(sent, result.landed);
          if (this.#done.length > 0) this.#flushSoon();
          this.#checkIdle();
        },
        (error: Error) => {
          this.#completionsInFlight--;
          this.#failedStatement(error, sent);
        },
      );
  }

  #takeDone(): PendingCompletion[] {
    this.#cancelFlush();
    return this.#done.splice(0);
  }

  #settled(sent: readonly PendingCompletion[], landed: (id: string) => boolean): void {
    this.#errorBackoffMs = 100;
    // A plan's cap held jobs back at the last claim: each job finished makes room for one.
    if (this.#capHeld && sent.length > 0 && this.#exhausted) {
      this.#exhausted = false;
      queueMicrotask(() => this.#pump());
    }
    for (const d of sent) {
      this.#held.delete(d.completion.id);
      // A completion the fence refused means the claim lapsed (expiry, lost heartbeat) and another
      // attempt owns the job now; its outcome is that attempt's to report.
      if (landed(d.completion.id)) this.#o.onOutcome(d.outcome);
      else
        this.#o.log.warn({ queue: this.#queue, jobId: d.completion.id }, "job finished after its claim lapsed; the result was discarded");
    }
  }

  /** A claim or completion failed: its completions wait for the next statement, after a backoff. */
  #failedStatement(error: Error, sent: PendingCompletion[]): void {
    if (this.#abandoned) return;
    this.#done.unshift(...sent);
    this.#o.log.error({ err: error, queue: this.#queue, retryInMs: this.#errorBackoffMs }, "claiming or completing jobs failed; retrying");
    if (this.#backoffTimer) return;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined;
      this.#pump();
      this.#flushSoon();
    }, this.#errorBackoffMs);
    this.#errorBackoffMs = Math.min(this.#errorBackoffMs * 2, ERROR_BACKOFF_MAX_MS);
  }

  #accept(claimed: readonly ClaimedJob[]): void {
    if (claimed.length === 0) return;
    const now = performance.now();
    const accepted = claimed.map((job) => {
      const held = new Held(job, now);
      this.#held.set(job.id, held);
      return held;
    });
    for (const held of accepted) this.#waiting.push(held.job.group_id ?? "", held, held.job.weight);
    if (this.#stopping) {
      // A claim that was in flight when the stop began: these never start.
      void this.#unclaimWaiting().then(() => this.#checkIdle());
      return;
    }
    this.#startWaiting();
  }

  #startWaiting(): void {
    const limited = this.#o.entry.type.rateLimits.length > 0;
    const admitting: Held[] = [];
    while (this.#running.size < this.#o.concurrency && this.#waiting.size > 0 && !this.#stopping) {
      const held = this.#waiting.shift()!;
      this.#running.add(held);
      // A job without an organisation is failed by runJob; it spends from no budget.
      if (limited && isUuid(held.job.group_id)) admitting.push(held);
      else void this.#run(held);
    }
    if (admitting.length > 0) void this.#admit(admitting);
  }

  /**
   * Books each job's start from its rate-limit budgets (one statement for all of them): a job
   * admitted to start within ADMIT_HOLD_SECONDS starts then, in its slot; the others snooze until
   * their budgets allow, without spending an attempt, and free their slots.
   */
  async #admit(helds: readonly Held[]): Promise<void> {
    const limits = this.#o.entry.type.rateLimits;
    const booking: { held: Held; spends: RateLimitSpend[] }[] = [];
    for (const held of helds) {
      try {
        booking.push({ held, spends: rateLimitSpends(limits, held.job.data, held.job.group_id!) });
      } catch (error) {
        // Its budget cannot be named, so it can never be admitted: a bad payload, failed for good.
        void this.#finished(held, failedAttempt(new PermanentJobError((error as Error).message), held.job.retry_count + 1, 0));
      }
    }
    if (booking.length === 0) return;
    let admissions: Admission[];
    try {
      admissions = await rateLimitAdmit(
        this.#o.pool,
        booking.map((b) => b.spends),
        ADMIT_HOLD_SECONDS,
      );
    } catch (error) {
      this.#o.log.error({ err: error, queue: this.#queue, retryInMs: this.#errorBackoffMs }, "could not book rate-limit budgets; retrying");
      setTimeout(() => this.#readmit(booking.map((b) => b.held)), this.#errorBackoffMs);
      this.#errorBackoffMs = Math.min(this.#errorBackoffMs * 2, ERROR_BACKOFF_MAX_MS);
      return;
    }
    // Waits count from the answer, not from when the database read its clock (somewhere before):
    // a job may start a little after its slot, never before it.
    const answeredAt = performance.now();
    const snoozed: Held[] = [];
    const snoozes: Snooze[] = [];
    booking.forEach(({ held, spends }, i) => {
      const { admitted, waitSeconds } = admissions[i]!;
      if (admitted) {
        if (waitSeconds < 0.001) void this.#run(held);
        else setTimeout(() => this.#startBooked(held, answeredAt + waitSeconds * 1000), waitSeconds * 1000);
        return;
      }
      snoozed.push(held);
      const budgets = spends.map((spend, k) => `${spend.key} (${limits[k]!.limit} per ${limits[k]!.perSeconds} s)`).join(", ");
      snoozes.push({ job: held.job, seconds: waitSeconds, kind: "rate-limit", reason: `waiting for the rate limit ${budgets}` });
    });
    if (snoozed.length > 0) await this.#snooze(snoozed, snoozes);
  }

  /**
   * Starts a job at its booked time, unless it is late (a slow answer from the database, a busy
   * event loop, a process still starting): its request would then land close to the next job's, on time, and an upstream
   * could count one more request in a second than the budget allows. A late job books a new start
   * instead (its old slot goes unused: the budget under-spends, never over-spends); twice at most,
   * so a loop that is always late still runs its jobs.
   */
  #startBooked(held: Held, due: number): void {
    if (performance.now() - due > LATE_START_MS && held.lateRebookings < MAX_LATE_REBOOKINGS) {
      held.lateRebookings++;
      void this.#admit([held]);
    } else void this.#run(held);
  }

  /** Jobs whose booking failed go back to waiting for a slot (or, when stopping, to the queue). */
  #readmit(helds: readonly Held[]): void {
    for (const held of helds) {
      this.#running.delete(held);
      this.#waiting.push(held.job.group_id ?? "", held, held.job.weight);
    }
    if (this.#stopping) void this.#unclaimWaiting().then(() => this.#checkIdle());
    else this.#startWaiting();
  }

  /** Puts jobs back to waiting in the database for a while; this runner claims again when they come due. */
  async #snooze(helds: readonly Held[], snoozes: readonly Snooze[]): Promise<void> {
    try {
      await this.#o.statements.snooze(this.#o.pool, snoozes);
      for (const snooze of snoozes) this.#snoozedDue.add(snooze.seconds * 1000);
    } catch (error) {
      this.#o.log.error(
        { err: error, queue: this.#queue, jobs: helds.length },
        "could not snooze jobs; they go back to their queue when their claim's heartbeat lapses",
      );
    }
    for (const held of helds) {
      this.#running.delete(held);
      this.#held.delete(held.job.id);
    }
    if (this.#abandoned) return;
    this.#startWaiting();
    this.#pump();
    this.#checkIdle();
  }

  /** Snoozed jobs came due: claim, as a NOTIFY would make it (snoozes send none). */
  #onSnoozedDue(): void {
    this.#exhausted = false;
    this.#eager = true;
    this.#pump();
  }

  async #run(held: Held): Promise<void> {
    // Admitted to start after a short wait, and the shutdown deadline passed meanwhile: handed back.
    if (this.#abandoned) return;
    const result = await runJob(this.#o.entry, held.job, () => held.signal, this.#o.deps);
    this.#sizing.record(result.runMs);
    await this.#finished(held, result);
  }

  async #finished(held: Held, result: AttemptResult): Promise<void> {
    const { job } = held;
    held.result = result;
    this.#running.delete(held);
    if (this.#abandoned) return;
    const outcome: JobOutcome = {
      queue: this.#queue,
      orgId: job.group_id,
      status: "completed",
      runMs: result.runMs,
      pickupMs: job.pickup_ms,
    };
    if (result.status === "completed") {
      this.#done.push({ completion: { id: job.id, retry_count: job.retry_count, outputJson: result.output }, outcome });
      this.#startWaiting();
      this.#pump();
      this.#flushSoon();
      return;
    }
    this.#startWaiting();
    this.#pump();
    if (result.status === "snoozed") await this.#snoozeByHandler(held, result, outcome);
    else await this.#settleFailure(held, result, outcome);
    this.#checkIdle();
  }

  /** ctx.snooze(): back to waiting with the attempt unspent, until the job's snoozes reach its type's cap. */
  async #snoozeByHandler(held: Held, result: Snoozed, outcome: JobOutcome): Promise<void> {
    const { job } = held;
    const { entry, pool } = this.#o;
    const attempt = job.retry_count + 1;
    const reason = result.reason.slice(0, SNOOZE_REASON_MAX);
    try {
      // runJob fails a job without an organisation before its handler can snooze.
      const orgId = job.group_id!;
      const count = await handlerSnoozeCount(pool, orgId, job.id);
      const max = entry.type.worker.maxSnoozes;
      if (count >= max) {
        const error = new PermanentJobError(
          `snoozed ${count} times, the most a ${this.#queue} job may (maxSnoozes); last reason: ${reason}`,
        );
        await this.#settleFailure(held, failedAttempt(error, attempt, result.runMs), outcome);
        return;
      }
      if (result.rateLimited && entry.type.rateLimits.length > 0) {
        const keys = rateLimitSpends(entry.type.rateLimits, job.data, orgId).map((spend) => spend.key);
        await rateLimitPush(pool, keys, result.seconds);
      }
    } catch (error) {
      const failure = new Error(`the job asked to snooze (${reason}), and the snooze could not be recorded: ${(error as Error).message}`);
      await this.#settleFailure(held, failedAttempt(failure, attempt, result.runMs), outcome);
      return;
    }
    await this.#snooze([held], [{ job, seconds: result.seconds, kind: "handler", reason }]);
  }

  /** While stopping: hands the jobs that never started back to the queue, unspent. */
  async #unclaimWaiting(): Promise<void> {
    const unstarted = this.#waiting.drain();
    if (unstarted.length === 0) return;
    try {
      const unclaimed = await this.#o.statements.unclaim(
        this.#o.pool,
        unstarted.map((h) => h.job),
      );
      this.#o.log.info({ queue: this.#queue, jobs: unclaimed }, `handed ${unclaimed} claimed jobs that had not started back to the queue`);
    } catch (error) {
      this.#o.log.error(
        { err: error, queue: this.#queue, jobs: unstarted.length },
        "could not hand jobs that never started back to the queue; they return when their heartbeat or expiry lapses",
      );
    }
    for (const h of unstarted) this.#held.delete(h.job.id);
  }

  #checkIdle(): void {
    if (!this.#onIdle || this.#held.size > 0 || this.#claimsInFlight > 0 || this.#expressInFlight || this.#completionsInFlight > 0) return;
    const resolve = this.#onIdle;
    this.#onIdle = undefined;
    resolve();
  }

  /** Once a second: aborts handlers past their expiry, and refreshes heartbeats when due. */
  #tick(): void {
    if (this.#held.size === 0) return;
    const now = performance.now();
    for (const held of this.#running) {
      if (!held.aborted && now - held.claimedAt > held.job.expire_seconds * 1000) {
        held.abort(new Error(`handler execution exceeded ${held.job.expire_seconds}s (expireInSeconds)`));
      }
    }
    let heartbeatSeconds = Number.POSITIVE_INFINITY;
    for (const held of this.#held.values())
      if (held.job.heartbeat_seconds) heartbeatSeconds = Math.min(heartbeatSeconds, held.job.heartbeat_seconds);
    if (heartbeatSeconds !== Number.POSITIVE_INFINITY && now - this.#lastHeartbeat >= (heartbeatSeconds * 1000) / 2)
      void this.#heartbeat(now);
  }

  async #heartbeat(now: number): Promise<void> {
    if (this.#heartbeating) return;
    this.#heartbeating = true;
    this.#lastHeartbeat = now;
    // Not the finished ones: their completion is on its way.
    const beating = [...this.#held.values()].filter((h) => h.job.heartbeat_seconds && !h.aborted && !h.result);
    try {
      if (beating.length === 0) return;
      const lost = await this.#o.statements.heartbeat(
        this.#o.pool,
        beating.map((h) => h.job),
      );
      // Fenced to our attempts: a job no longer active at ours belongs to someone else now.
      for (const id of lost) {
        const h = this.#held.get(id);
        if (h && !h.result) h.abort(new Error(`job ${id} is no longer active under this worker's claim`));
      }
    } catch (error) {
      this.#o.log.warn({ err: error, queue: this.#queue }, "heartbeat failed; will try again");
    } finally {
      this.#heartbeating = false;
    }
  }

  async #settleFailure(held: Held, result: Extract<AttemptResult, { status: "failed" }>, outcome: JobOutcome): Promise<void> {
    const { job } = held;
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
      this.#held.delete(job.id);
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
