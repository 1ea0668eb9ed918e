import { sql } from "kysely";
import type { OrgTransaction } from "../db/org-scope.ts";
import { backupStatusRead, type BackupStatus } from "../ops/backup-status.ts";
import { jobCatalogue } from "./catalogue.ts";

/**
 * The operations dashboard's figures for the current organisation, read from the app.* wrappers of
 * the ops.* insight views that operators query from psql (migrations/0003), so both see one truth.
 * Every query is served by an index: the backlog through pg-boss's partial indexes, history
 * through ops.job_rollup_minute's (org_id, minute) index, recent failures through
 * app_dead_letters_by_org_idx (migrations/0004). Hours are epoch-aligned (UTC), not the
 * session time zone's, so they match the series built here.
 */

export interface QueueOverview {
  type: string;
  queued: number;
  deferred: number;
  retry: number;
  active: number;
  /** Creation time of the oldest job waiting to run (queued or retry), if any. */
  oldestWaitingAt: Date | null;
  completed24h: number;
  failed24h: number;
  failureRate24h: number | null;
  runMsP95: number | null;
}

export interface ThroughputPoint {
  at: Date;
  completed: number;
  failed: number;
}

export interface FailureEntry {
  deadLetterJobId: string;
  jobId: string;
  type: string;
  failedAt: Date;
  attempts: number;
  message: string;
}

export interface Dashboard {
  queues: QueueOverview[];
  lastHour: ThroughputPoint[];
  last24Hours: ThroughputPoint[];
  workersAlive: number;
  failures: FailureEntry[];
  /** The platform's newest backup and restore drill (platform-wide, the same for every organisation). */
  dataProtection: BackupStatus;
  generatedAt: Date;
}

const types = jobCatalogue.map((job) => job.name);

export async function dashboardRead(trx: OrgTransaction, options: { failures?: number } = {}): Promise<Dashboard> {
  // Counting a backlog of tens of thousands of jobs sorts them by queue; at the default 4 MB that
  // sort spills to disk and doubles the dashboard's time (bench/web-loaders.ts).
  await sql`SELECT set_config('work_mem', '32MB', true)`.execute(trx);
  const depth = await sql<{ queue: string; state: string; jobs: string; oldest_created_at: Date }>`
    SELECT queue, state, jobs, oldest_created_at FROM app.queue_depth WHERE queue = ANY(${types}::text[])
  `.execute(trx);
  const stats = await sql<{ queue: string; completed: string; failed: string; failure_rate: string | null; run_ms_p95: number | null }>`
    SELECT queue, completed, failed, failure_rate, run_ms_p95 FROM app.queue_stats_24h
  `.execute(trx);
  const minutes = await sql<{ at: Date; completed: string; failed: string }>`
    SELECT minute AS at, sum(completed) AS completed, sum(failed) AS failed FROM app.job_throughput_minute
    WHERE minute >= date_trunc('minute', now()) - interval '59 minutes' GROUP BY minute ORDER BY minute
  `.execute(trx);
  const hours = await sql<{ at: Date; completed: string; failed: string }>`
    SELECT to_timestamp(floor(extract(epoch FROM minute) / 3600) * 3600) AS at, sum(completed) AS completed, sum(failed) AS failed
    FROM app.job_throughput_minute
    WHERE minute >= to_timestamp(floor(extract(epoch FROM now()) / 3600) * 3600) - interval '23 hours' GROUP BY 1 ORDER BY 1
  `.execute(trx);
  const workers = await sql<{ workers: string }>`SELECT workers FROM app.workers_alive`.execute(trx);
  const failures = await sql<{
    dead_letter_job_id: string;
    job_id: string;
    queue: string;
    failed_at: Date;
    attempts: number;
    error: { message?: string } | null;
  }>`
    SELECT dead_letter_job_id, job_id, queue, failed_at, attempts, error FROM app.dead_letters
    ORDER BY failed_at DESC LIMIT ${options.failures ?? 10}
  `.execute(trx);

  const queues = types.map((type) => {
    const byState = (state: string) => depth.rows.find((r) => r.queue === type && r.state === state);
    const count = (state: string) => Number(byState(state)?.jobs ?? 0);
    const waiting = [byState("queued"), byState("retry")].flatMap((r) => (r ? [r.oldest_created_at] : []));
    const s = stats.rows.find((r) => r.queue === type);
    return {
      type,
      queued: count("queued"),
      deferred: count("deferred"),
      retry: count("retry"),
      active: count("active"),
      oldestWaitingAt: waiting.length > 0 ? new Date(Math.min(...waiting.map((d) => d.getTime()))) : null,
      completed24h: Number(s?.completed ?? 0),
      failed24h: Number(s?.failed ?? 0),
      failureRate24h: s?.failure_rate === null || s === undefined ? null : Number(s.failure_rate),
      runMsP95: s?.run_ms_p95 ?? null,
    };
  });
  const dataProtection = await backupStatusRead(trx);
  const now = Date.now();
  return {
    dataProtection,
    queues,
    lastHour: series(minutes.rows, 60, 60_000, now),
    last24Hours: series(hours.rows, 24, 3_600_000, now),
    workersAlive: Number(workers.rows[0]?.workers ?? 0),
    failures: failures.rows.map((f) => ({
      deadLetterJobId: f.dead_letter_job_id,
      jobId: f.job_id,
      type: f.queue,
      failedAt: f.failed_at,
      attempts: f.attempts,
      message: f.error?.message ?? "(no message)",
    })),
    generatedAt: new Date(now),
  };
}

/** A gap-free series of `count` buckets of `stepMs` ending with the current one. */
function series(rows: { at: Date; completed: string; failed: string }[], count: number, stepMs: number, now: number): ThroughputPoint[] {
  const byTime = new Map(rows.map((r) => [r.at.getTime(), r]));
  const last = now - (now % stepMs);
  return Array.from({ length: count }, (_, i) => {
    const at = last - (count - 1 - i) * stepMs;
    const row = byTime.get(at);
    return { at: new Date(at), completed: Number(row?.completed ?? 0), failed: Number(row?.failed ?? 0) };
  });
}
