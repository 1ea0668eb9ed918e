// The mixed-load round of `npm run bench` (issue 10): quick and slow jobs of one type on two worker
// processes. It measures what a user of slow jobs sees: how long a finished job waits for its
// `completed` state, and whether one process hoards the slow jobs while the other idles.
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { percentile } from "./stats.ts";

export const MIXED_QUICK_JOBS = 10_000;
export const MIXED_SLOW_JOBS = 2_000;
export const MIXED_SLOW_MS = 2_000;
/** Handlers per process: 2 x 100 slots run the slow jobs in about 20 s. */
export const MIXED_CONCURRENCY = 100;

export interface MixedLoadResult {
  seconds: number;
  /** From each handler's end to its job's completed_on (database clock, same host). */
  endToCompletedMs: { p50: number; p99: number; max: number };
  /** Slow jobs run by each process, largest first. */
  slowJobsPerProcess: number[];
  /** Quick jobs run by each process, largest first. */
  quickJobsPerProcess: number[];
}

export interface MixedLoadDeps {
  url: string;
  queue: string;
  /** Starts one worker process with extra settings; resolves once it works jobs. */
  startWorker(env: Record<string, string>): Promise<{ child: ChildProcess }>;
  stopWorker(child: ChildProcess): Promise<void>;
  /** Enqueues the payloads (any size) for the bench organisation. */
  enqueue(payloads: Record<string, unknown>[]): Promise<void>;
  waitDrained(expected: number): Promise<number>;
}

export async function mixedLoadRound(deps: MixedLoadDeps): Promise<MixedLoadResult> {
  const workers = await Promise.all([0, 1].map(() => deps.startWorker({ JOB_CONCURRENCY: String(MIXED_CONCURRENCY) })));
  try {
    // Interleaved: one slow job after every five quick ones, as a shared queue would see them.
    const payloads: Record<string, unknown>[] = [];
    for (let i = 0, slow = 0; i < MIXED_QUICK_JOBS + MIXED_SLOW_JOBS; i++) {
      const isSlow = i % 6 === 5 && slow < MIXED_SLOW_JOBS;
      if (isSlow) slow++;
      payloads.push(isSlow ? { echo: { i, slow: true }, delayMs: MIXED_SLOW_MS } : { echo: { i } });
    }
    const started = Date.now();
    await deps.enqueue(payloads);
    const last = await deps.waitDrained(payloads.length);
    const client = new pg.Client({ connectionString: deps.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ slow: boolean; pid: number; lag_ms: number }>(
        `SELECT (data ? 'delayMs') AS slow, (output ->> 'pid')::int AS pid,
           extract(epoch FROM completed_on) * 1000 - (output ->> 'finishedAt')::float8 AS lag_ms
         FROM pgboss.job WHERE name = $1`,
        [deps.queue],
      );
      const lags = rows.map((r) => r.lag_ms).sort((a, b) => a - b);
      const perProcess = (slow: boolean) => {
        const counts = new Map<number, number>();
        for (const r of rows) if (r.slow === slow) counts.set(r.pid, (counts.get(r.pid) ?? 0) + 1);
        return [...counts.values()].sort((a, b) => b - a);
      };
      const round1 = (n: number) => Math.round(n * 10) / 10;
      return {
        seconds: round1((last - started) / 1000),
        endToCompletedMs: { p50: round1(percentile(lags, 50)), p99: round1(percentile(lags, 99)), max: round1(lags.at(-1)!) },
        slowJobsPerProcess: perProcess(true),
        quickJobsPerProcess: perProcess(false),
      };
    } finally {
      await client.end();
    }
  } finally {
    await Promise.all(workers.map((w) => deps.stopWorker(w.child)));
  }
}
