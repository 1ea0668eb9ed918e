// The rate-limit round of `npm run bench` (issue 10): 300 calls to one account of a local fake of
// Kommo's API (7 requests a second, 429 above that, no Retry-After), run by three worker processes.
// The fake runs in a process of its own and counts what it received; the ideal is 300 / 7 = 43 s.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import pg from "pg";
import { busiestSecond, type UpstreamRequest } from "../test/fakes/rate-limited-upstream.ts";
import { ROOT_DIR } from "../scripts/lib/local-env.ts";

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
  const upstream = await startUpstreamProcess();
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
    const requests = (await (await fetch(`${upstream.url}/_fake/requests`)).json()) as UpstreamRequest[];
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
        busiestSecond: busiestSecond(requests, ACCOUNT),
        refused: requests.filter((q) => q.status === 429).length,
        attemptsSpent: r.spent,
        snoozes: { rateLimit: r.rate_limit, handler: r.handler },
      };
    } finally {
      await client.end();
    }
  } finally {
    await Promise.all(workers.map((w) => deps.stopWorker(w.child)));
    upstream.child.kill("SIGTERM");
  }
}

async function startUpstreamProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [`${ROOT_DIR}test/fakes/rate-limited-upstream-process.ts`, String(RATE_LIMIT_PER_SECOND)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  return { url: (JSON.parse(line.toString()) as { url: string }).url, child };
}
