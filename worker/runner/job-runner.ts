import type pg from "pg";
import type { PgBoss } from "pg-boss";
import { createPool } from "../../core/db/connect.ts";
import type { RegisteredHandler } from "../handlers/index.ts";
import type { JobOutcome } from "../metrics/rollup-buffer.ts";
import { FetchLoop } from "./fetch-loop.ts";
import { notifyChannelSql } from "../../core/jobs/engine.ts";
import { QueueStatements, queueTable } from "./job-sql.ts";
import { PgListener } from "../../core/db/listener.ts";
import type { RunJobDeps } from "./run-job.ts";

export interface JobRunnerOptions extends RunJobDeps {
  url: string;
  boss: PgBoss;
  handlers: ReadonlyMap<string, RegisteredHandler>;
  /** Handlers of one fetched batch that run at the same time. */
  concurrency: number;
  /** Independent fetch loops per job type. */
  fetchLoops: number;
  /** Backstop poll when no NOTIFY arrives (retries and deferred jobs coming due). */
  pollIntervalSeconds: number;
  /** Called once per settled attempt, from the hot path: keep it cheap and synchronous. */
  onOutcome: (outcome: JobOutcome) => void;
  onFinalFailure: (error: Error, job: { queue: string; jobId: string; orgId: string | null; attempt: number }) => void;
}

/**
 * Runs the job handlers of this process: JOB_FETCH_LOOPS fetch loops per job type, woken by
 * NOTIFY, each running its batches with JOB_CONCURRENCY handlers at a time, on a pool of its own
 * so API requests never wait behind job traffic.
 */
export class JobRunner {
  readonly #o: JobRunnerOptions;
  readonly #loops: FetchLoop[] = [];
  #pool: pg.Pool | undefined;
  #listener: PgListener | undefined;

  constructor(options: JobRunnerOptions) {
    this.#o = options;
  }

  /** Jobs claimed by this process and not yet settled, in total and per queue. */
  get inFlight(): number {
    return this.#loops.reduce((sum, loop) => sum + loop.inFlight, 0);
  }

  inFlightByQueue(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const loop of this.#loops) counts.set(loop.queue, (counts.get(loop.queue) ?? 0) + loop.inFlight);
    return counts;
  }

  async start(): Promise<void> {
    const { handlers, fetchLoops } = this.#o;
    // Each loop holds at most one connection at a time; failure settling and heartbeats use pg-boss's pool.
    const pool = createPool(this.#o.url, {
      max: handlers.size * fetchLoops + 1,
      applicationName: "gpt-platform:worker:jobs",
      // These connections only claim, complete and release jobs, which must always walk pg-boss's
      // indexes. After a burst of inserts, statistics lag the backlog, and the planner otherwise
      // answers each claim with a bitmap scan of the whole backlog plus a sort (measured: 7 ms per
      // claim at 20,000 queued jobs instead of 2 ms). These settings only penalise other plans.
      settings: { enable_bitmapscan: "off", enable_seqscan: "off" },
    });
    this.#pool = pool;
    for (const entry of handlers.values()) {
      const policy = entry.type.queue.policy;
      if (policy !== "standard" && policy !== "short" && policy !== "exclusive") {
        throw new Error(`job type ${entry.type.name}: policy "${policy}" needs singleton-aware fetching, which the runner does not do`);
      }
      const statements = new QueueStatements(entry.type.name, await queueTable(pool, entry.type.name));
      const siblings: FetchLoop[] = [];
      for (let i = 0; i < fetchLoops; i++) {
        siblings.push(
          new FetchLoop({
            entry,
            statements,
            pool,
            boss: this.#o.boss,
            deps: { appDb: this.#o.appDb, jobs: this.#o.jobs, log: this.#o.log },
            concurrency: this.#o.concurrency,
            // Idle loops cost nothing: only the first polls; the others wait for a NOTIFY or a burst.
            pollIntervalMs: i === 0 ? this.#o.pollIntervalSeconds * 1000 : null,
            onFullBatch: () => {
              for (const sibling of siblings) if (sibling.sleeping) sibling.notify();
            },
            log: this.#o.log,
            onOutcome: this.#o.onOutcome,
            onFinalFailure: this.#o.onFinalFailure,
          }),
        );
      }
      this.#loops.push(...siblings);
    }
    // pg-boss announces every insert into a notify-enabled queue (and our releases) on its channel,
    // with the queue's name. While this connection is down the loops keep their backstop poll.
    this.#listener = new PgListener({
      url: this.#o.url,
      applicationName: "gpt-platform:worker:listen",
      channels: [{ sql: notifyChannelSql() }],
      onNotification: (_channel, queue) => this.#wake(queue),
      onListening: () => this.#wake(null),
      onLost: (error, retryInMs) =>
        this.#o.log.warn({ err: error, retryInMs }, "job notifications lost; fetch loops poll until the listener reconnects"),
    });
    await this.#listener.start();
    this.#o.log.info({ loops: this.#loops.length }, "fetch loops starting");
    for (const loop of this.#loops) loop.start();
  }

  /**
   * One NOTIFY usually means one job: wake one sleeping loop of the queue rather than all of them
   * (the rest would only claim nothing), and keep busy loops from sleeping past it. `null` (after
   * the listener reconnects) wakes every loop.
   */
  #wake(queue: string | null): void {
    let wokeOne = false;
    for (const loop of this.#loops) {
      if (queue !== null && loop.queue !== queue) continue;
      if (!loop.sleeping) loop.notify();
      else if (queue === null || !wokeOne) {
        loop.notify();
        wokeOne = true;
      }
    }
  }

  /**
   * Stops claiming, lets running jobs finish for up to `timeoutMs`, then hands whatever still runs
   * back to its queue. Returns how many jobs were handed back.
   */
  async stop(timeoutMs: number): Promise<{ abandoned: number }> {
    let deadline: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.#loops.map((loop) => loop.stop())).then(() => true),
      new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(deadline);
    let abandoned = 0;
    if (!finished) {
      for (const loop of this.#loops) {
        abandoned += await loop.abandon().catch((error: Error) => {
          this.#o.log.error(
            { err: error, queue: loop.queue },
            "could not hand unfinished jobs back; they return when their heartbeat or expiry lapses",
          );
          return 0;
        });
      }
    }
    await this.#listener?.stop();
    await this.#pool?.end();
    return { abandoned };
  }
}
