import type pg from "pg";
import type { PgBoss } from "pg-boss";
import { createPool } from "../../core/db/connect.ts";
import type { RegisteredHandler } from "../handlers/index.ts";
import type { JobOutcome } from "../metrics/rollup-buffer.ts";
import { notifyChannelSql } from "../../core/jobs/engine.ts";
import { QueueStatements, queueTable } from "./job-sql.ts";
import { PgListener } from "../../core/db/listener.ts";
import { QueueRunner } from "./queue-runner.ts";
import type { RunJobDeps } from "./run-job.ts";

export interface JobRunnerOptions extends RunJobDeps {
  url: string;
  boss: PgBoss;
  handlers: ReadonlyMap<string, RegisteredHandler>;
  /** Handlers of each job type running at once in this process. */
  concurrency: number;
  /** Claim statements each job type may have in flight at once. */
  claimsAtOnce: number;
  /** Claims take organisations in turn (true), or pg-boss's oldest-first order across all of them. */
  fairShare: boolean;
  /** Backstop poll when no NOTIFY arrives (retries and deferred jobs coming due). */
  pollIntervalSeconds: number;
  /** Called once per settled attempt, from the hot path: keep it cheap and synchronous. */
  onOutcome: (outcome: JobOutcome) => void;
  onFinalFailure: (error: Error, job: { queue: string; jobId: string; orgId: string | null; attempt: number }) => void;
}

/**
 * Runs the job handlers of this process: one QueueRunner per job type, woken by NOTIFY, each
 * running up to JOB_CONCURRENCY handlers, on a pool of its own so API requests never wait behind
 * job traffic.
 */
export class JobRunner {
  readonly #o: JobRunnerOptions;
  readonly #runners: QueueRunner[] = [];
  #pool: pg.Pool | undefined;
  #listener: PgListener | undefined;

  constructor(options: JobRunnerOptions) {
    this.#o = options;
  }

  /** Jobs claimed by this process and not yet settled, in total and per queue. */
  get inFlight(): number {
    return this.#runners.reduce((sum, runner) => sum + runner.inFlight, 0);
  }

  inFlightByQueue(): Map<string, number> {
    return new Map(this.#runners.map((runner) => [runner.queue, runner.inFlight]));
  }

  async start(): Promise<void> {
    const { handlers, claimsAtOnce } = this.#o;
    // A connection per statement in flight: claims, the express claim, two completions and the
    // heartbeat of each job type. Failure settling uses pg-boss's pool.
    const pool = createPool(this.#o.url, {
      max: handlers.size * (claimsAtOnce + 4) + 1,
      applicationName: "gpt-platform:worker:jobs",
      // These connections only claim, complete and release jobs, which must always walk pg-boss's
      // indexes. After a burst of inserts, statistics lag the backlog, and the planner otherwise
      // answers each claim with a bitmap scan of the whole backlog plus a sort (measured: 7 ms per
      // claim at 20,000 queued jobs instead of 2 ms). The fair-share claim's row estimates are
      // loose (shares are computed at run time), and a merge join of its few hundred jobs against
      // the whole primary key measured 6 ms at 10,000 waiting: its jobs are joined by index lookups.
      // Those loose estimates also push its cost past jit_above_cost, and JIT compiling a 3 ms
      // statement took 80 ms. These settings only penalise other plans.
      settings: { enable_bitmapscan: "off", enable_seqscan: "off", enable_mergejoin: "off", enable_hashjoin: "off", jit: "off" },
    });
    this.#pool = pool;
    for (const entry of handlers.values()) {
      const policy = entry.type.queue.policy;
      if (policy !== "standard" && policy !== "short" && policy !== "exclusive") {
        throw new Error(`job type ${entry.type.name}: policy "${policy}" needs singleton-aware fetching, which the runner does not do`);
      }
      const order = this.#o.fairShare ? "fair" : "oldest-first";
      const statements = new QueueStatements(entry.type.name, await queueTable(pool, entry.type.name), order);
      await statements.warm(pool, claimsAtOnce + 1, entry.type.worker.batchSize);
      this.#runners.push(
        new QueueRunner({
          entry,
          statements,
          pool,
          boss: this.#o.boss,
          deps: { appDb: this.#o.appDb, jobs: this.#o.jobs, log: this.#o.log },
          concurrency: this.#o.concurrency,
          claimsAtOnce,
          pollIntervalMs: this.#o.pollIntervalSeconds * 1000,
          log: this.#o.log,
          onOutcome: this.#o.onOutcome,
          onFinalFailure: this.#o.onFinalFailure,
        }),
      );
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
        this.#o.log.warn({ err: error, retryInMs }, "job notifications lost; job runners poll until the listener reconnects"),
    });
    await this.#listener.start();
    this.#o.log.info({ queues: this.#runners.length }, "job runners starting");
    for (const runner of this.#runners) runner.start();
  }

  /** `null` (after the listener reconnects) wakes every queue. */
  #wake(queue: string | null): void {
    for (const runner of this.#runners) if (queue === null || runner.queue === queue) runner.notify();
  }

  /**
   * Stops claiming, lets running jobs finish for up to `timeoutMs`, then hands whatever still runs
   * back to its queue. Returns how many jobs were handed back.
   */
  async stop(timeoutMs: number): Promise<{ abandoned: number }> {
    let deadline: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.#runners.map((runner) => runner.stop())).then(() => true),
      new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(deadline);
    let abandoned = 0;
    if (!finished) {
      for (const runner of this.#runners) {
        abandoned += await runner.abandon().catch((error: Error) => {
          this.#o.log.error(
            { err: error, queue: runner.queue },
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
