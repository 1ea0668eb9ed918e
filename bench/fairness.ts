// The fairness round of `npm run bench` (issue 10): a noisy organisation with a million waiting
// test-jobs and a quiet one sending 20 jobs a second, on one worker, with the fair claim and with
// pg-boss's oldest-first claim side by side. It measures what the quiet organisation's users see
// (pickup: created -> started) and what fairness costs the noisy one (its drain).
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { query } from "./query.ts";
import { percentile } from "./stats.ts";

export const FAIRNESS_BACKLOG = 1_000_000;
export const FAIRNESS_QUIET_RATE = 20;
export const FAIRNESS_SECONDS = 15;

export interface FairnessResult {
  claim: "fair" | "oldest-first";
  /** Quiet organisation's jobs: sent, and started within the run. */
  quietSent: number;
  quietStarted: number;
  /** Pickup of the quiet jobs that started (ms); null when none did. */
  quietPickupMs: { p50: number; p95: number; p99: number; max: number } | null;
  /** Noisy organisation's jobs completed per second during the run. */
  noisyJobsPerSecond: number;
}

export interface FairnessDeps {
  url: string;
  queue: string;
  noisyOrg: string;
  startWorker(env: Record<string, string>): Promise<{ child: ChildProcess }>;
  stopWorker(child: ChildProcess): Promise<void>;
  /** Enqueues one job for the quiet organisation through the platform's enqueue path. */
  sendQuiet(i: number): Promise<void>;
  quietOrg: string;
}

/** A backlog of `count` waiting jobs for `org`, written as app.enqueue_many writes them (without its per-job checks, for speed). */
async function seedBacklog(url: string, queue: string, org: string, count: number): Promise<void> {
  await query(url, "TRUNCATE pgboss.job_common");
  await query(
    url,
    `INSERT INTO pgboss.job (id, name, data, priority, start_after, created_on, group_id, expire_seconds, deletion_seconds, keep_until,
       retry_limit, retry_delay, retry_backoff, retry_delay_max, policy, dead_letter, heartbeat_seconds, blocked, blocking, pending_dependencies)
     SELECT gen_random_uuid(), q.name, jsonb_build_object('echo', jsonb_build_object('i', g)), 0, now(), now(), $2, q.expire_seconds,
       q.deletion_seconds, now() + q.retention_seconds * interval '1s', q.retry_limit, q.retry_delay, coalesce(q.retry_backoff, false),
       q.retry_delay_max, q.policy, q.dead_letter, q.heartbeat_seconds, false, false, 0
     FROM pgboss.queue q CROSS JOIN generate_series(1, $3) g WHERE q.name = $1`,
    [queue, org, count],
  );
  await query(url, "VACUUM ANALYZE pgboss.job_common");
}

export async function fairnessRound(deps: FairnessDeps, claim: FairnessResult["claim"]): Promise<FairnessResult> {
  await seedBacklog(deps.url, deps.queue, deps.noisyOrg, FAIRNESS_BACKLOG);
  const { child } = await deps.startWorker({ JOB_FAIR_SHARE: claim === "fair" ? "true" : "false" });
  let started: number;
  let ended: number;
  try {
    await sleep(1000); // past the start: the claims are running at full speed
    started = Date.now();
    const total = FAIRNESS_QUIET_RATE * FAIRNESS_SECONDS;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / FAIRNESS_QUIET_RATE;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      sends.push(deps.sendQuiet(i));
    }
    await Promise.all(sends);
    await sleep(1000); // the last quiet jobs get their chance
    ended = Date.now();
  } finally {
    await deps.stopWorker(child);
  }
  const [quiet] = await query<{ sent: string; started: string; pickups: number[] | null }>(
    deps.url,
    `SELECT count(*) AS sent, count(started_on) AS started,
       array_agg(extract(epoch FROM started_on - created_on) * 1000 ORDER BY started_on - created_on) FILTER (WHERE started_on IS NOT NULL) AS pickups
     FROM pgboss.job WHERE name = $1 AND group_id = $2`,
    [deps.queue, deps.quietOrg],
  );
  const [noisy] = await query<{ done: string }>(
    deps.url,
    `SELECT count(*) AS done FROM pgboss.job
     WHERE name = $1 AND group_id = $2 AND state = 'completed' AND completed_on BETWEEN to_timestamp($3 / 1000.0) AND to_timestamp($4 / 1000.0)`,
    [deps.queue, deps.noisyOrg, started, ended],
  );
  const pickups = (quiet!.pickups ?? []).map(Number);
  const round1 = (n: number) => Math.round(n * 10) / 10;
  return {
    claim,
    quietSent: Number(quiet!.sent),
    quietStarted: Number(quiet!.started),
    quietPickupMs:
      pickups.length === 0
        ? null
        : {
            p50: round1(percentile(pickups, 50)),
            p95: round1(percentile(pickups, 95)),
            p99: round1(percentile(pickups, 99)),
            max: round1(pickups.at(-1)!),
          },
    noisyJobsPerSecond: Math.round(Number(noisy!.done) / ((ended - started) / 1000)),
  };
}
