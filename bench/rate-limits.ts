// The rate-limit round of `npm run bench` (issue 10): 300 calls to one account of a local fake of
// Kommo's API (7 requests a second, 429 above that, no Retry-After), run by three worker processes.
// The fake counts what it received; the ideal is 300 / 7 = 43 s.
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { startRateLimitedUpstream } from "../test/fakes/rate-limited-upstream.ts";

export const RATE_LIMIT_JOBS = 300;
export const RATE_LIMIT_PER_SECOND = 7;
export const RATE_LIMIT_PROCESSES = 3;
const QUEUE = "test-upstream-call";
const ACCOUNT = "bench-account";

export interface RateLimitResult {
  jobs: number;
  completed: number;
  seconds: number;
  idealSeconds: number;
  /** Most requests the upstream received in any one-second window. */
  busiestSecond: number;
  refused: number;
  /** Attempts beyond each job's first: what limits cost in retries. */
  attemptsSpent: number;
  snoozes: { rateLimit: number; handler: number };
}

export interface RateLimitDeps {
  url: string;
  startWorker(env: Record<string, string>): Promise<{ child: ChildProcess }>;
  stopWorker(child: ChildProcess): Promise<void>;
  enqueue(type: string, payloads: Record<string, unknown>[]): Promise<void>;
  waitDrained(queue: string, expected: number): Promise<number>;
}

export async function rateLimitRound(deps: RateLimitDeps): Promise<RateLimitResult> {
  const upstream = await startRateLimitedUpstream({ limit: RATE_LIMIT_PER_SECOND });
  const workers = await Promise.all(
    Array.from({ length: RATE_LIMIT_PROCESSES }, () => deps.startWorker({ TEST_UPSTREAM_URL: upstream.url })),
  );
  try {
    const started = Date.now();
    await deps.enqueue(
      QUEUE,
      Array.from({ length: RATE_LIMIT_JOBS }, (_, i) => ({ accountId: ACCOUNT, echo: i })),
    );
    const last = await deps.waitDrained(QUEUE, RATE_LIMIT_JOBS);
    const client = new pg.Client({ connectionString: deps.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ completed: number; spent: number; rate_limit: number; handler: number }>(
        `SELECT count(*) FILTER (WHERE j.state = 'completed')::int AS completed, coalesce(sum(j.retry_count), 0)::int AS spent,
           (SELECT count(*) FROM app.job_snoozes s WHERE s.kind = 'rate-limit')::int AS rate_limit,
           (SELECT count(*) FROM app.job_snoozes s WHERE s.kind = 'handler')::int AS handler
         FROM pgboss.job j WHERE j.name = $1`,
        [QUEUE],
      );
      const r = rows[0]!;
      return {
        jobs: RATE_LIMIT_JOBS,
        completed: r.completed,
        seconds: Math.round((last - started) / 100) / 10,
        idealSeconds: Math.round((RATE_LIMIT_JOBS / RATE_LIMIT_PER_SECOND) * 10) / 10,
        busiestSecond: upstream.busiestSecond(ACCOUNT),
        refused: upstream.requests.filter((q) => q.status === 429).length,
        attemptsSpent: r.spent,
        snoozes: { rateLimit: r.rate_limit, handler: r.handler },
      };
    } finally {
      await client.end();
    }
  } finally {
    await Promise.all(workers.map((w) => deps.stopWorker(w.child)));
    await upstream.close();
  }
}
