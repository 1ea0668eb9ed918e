import { sql } from "kysely";
import type { Database, OwnerDatabase } from "../db/connect.ts";

/**
 * Per-minute job statistics in ops.job_rollup_minute. Workers aggregate outcomes in memory and add
 * them here every few seconds; SQL then answers throughput, failure-rate and latency questions long
 * after pg-boss has deleted the jobs themselves.
 */

/** Upper bounds (ms) of the latency histogram buckets; must equal ops.latency_bucket_bounds_ms(). */
export const LATENCY_BUCKET_BOUNDS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000] as const;
/** One bucket per bound plus the overflow bucket. */
export const LATENCY_BUCKET_COUNT = LATENCY_BUCKET_BOUNDS_MS.length + 1;

export function latencyBucket(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKET_BOUNDS_MS.length; i++) if (ms <= LATENCY_BUCKET_BOUNDS_MS[i]!) return i;
  return LATENCY_BUCKET_BOUNDS_MS.length;
}

export interface RollupRow {
  minute: Date;
  queue: string;
  orgId: string | null;
  completed: number;
  failed: number;
  retried: number;
  runMsSum: number;
  runMsMax: number;
  runMsBuckets: number[];
  pickupMsBuckets: number[];
}

/** Adds rows into the table (several workers add into the same minute). One statement for the lot. */
export async function rollupAdd(db: OwnerDatabase, rows: readonly RollupRow[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(
    rows.map((r) => ({
      minute: r.minute.toISOString(),
      queue: r.queue,
      org_id: r.orgId,
      completed_count: r.completed,
      failed_count: r.failed,
      retried_count: r.retried,
      run_ms_sum: r.runMsSum,
      run_ms_max: r.runMsMax,
      run_ms_buckets: r.runMsBuckets,
      pickup_ms_buckets: r.pickupMsBuckets,
    })),
  );
  await sql`
    INSERT INTO ops.job_rollup_minute AS r
      (minute, queue, org_id, completed_count, failed_count, retried_count, run_ms_sum, run_ms_max, run_ms_buckets, pickup_ms_buckets)
    SELECT minute, queue, org_id, completed_count, failed_count, retried_count, run_ms_sum, run_ms_max, run_ms_buckets, pickup_ms_buckets
    FROM json_to_recordset(${json}::json) AS x(
      minute timestamptz, queue text, org_id uuid, completed_count integer, failed_count integer, retried_count integer,
      run_ms_sum bigint, run_ms_max integer, run_ms_buckets bigint[], pickup_ms_buckets bigint[])
    ON CONFLICT ON CONSTRAINT job_rollup_minute_key DO UPDATE SET
      completed_count = r.completed_count + excluded.completed_count,
      failed_count = r.failed_count + excluded.failed_count,
      retried_count = r.retried_count + excluded.retried_count,
      run_ms_sum = r.run_ms_sum + excluded.run_ms_sum,
      run_ms_max = greatest(r.run_ms_max, excluded.run_ms_max),
      run_ms_buckets = ops.add_buckets(r.run_ms_buckets, excluded.run_ms_buckets),
      pickup_ms_buckets = ops.add_buckets(r.pickup_ms_buckets, excluded.pickup_ms_buckets)
  `.execute(db);
}

export interface WindowStats {
  completed: number;
  failed: number;
  retried: number;
  /** Completed jobs per second over the window. */
  completedPerSecond: number;
}

export interface QueueRollupStats {
  queue: string;
  windows: Record<"1m" | "5m" | "15m", WindowStats>;
  runTimeMs: { p50: number | null; p95: number | null };
  pickupMs: { p50: number | null; p95: number | null };
}

/**
 * Throughput over the last 1, 5 and 15 minutes and run-time percentiles over 15 minutes, per
 * queue. A window of N minutes is the current (partial) minute plus the N-1 before it, and rates
 * divide by the seconds that span actually covers. With an org-scoped handle, RLS limits the rows
 * to that organisation; the owner handle sees every organisation.
 */
export async function rollupStatsByQueue(db: Database, queues: readonly string[]): Promise<QueueRollupStats[]> {
  const { rows } = await sql<{
    queue: string;
    c1: string;
    f1: string;
    r1: string;
    c5: string;
    f5: string;
    r5: string;
    c15: string;
    f15: string;
    r15: string;
    seconds_into_minute: number;
    run_p50: number | null;
    run_p95: number | null;
    pickup_p50: number | null;
    pickup_p95: number | null;
  }>`
    WITH w AS (
      SELECT r.*, (date_trunc('minute', now()) - r.minute) AS age
      FROM ops.job_rollup_minute r
      WHERE r.minute >= date_trunc('minute', now()) - interval '14 minutes'
        AND r.queue = ANY(${queues as string[]})
    )
    SELECT queue,
      coalesce(sum(completed_count) FILTER (WHERE age < interval '1 minute'), 0) AS c1,
      coalesce(sum(failed_count) FILTER (WHERE age < interval '1 minute'), 0) AS f1,
      coalesce(sum(retried_count) FILTER (WHERE age < interval '1 minute'), 0) AS r1,
      coalesce(sum(completed_count) FILTER (WHERE age < interval '5 minutes'), 0) AS c5,
      coalesce(sum(failed_count) FILTER (WHERE age < interval '5 minutes'), 0) AS f5,
      coalesce(sum(retried_count) FILTER (WHERE age < interval '5 minutes'), 0) AS r5,
      sum(completed_count) AS c15, sum(failed_count) AS f15, sum(retried_count) AS r15,
      extract(epoch FROM now() - date_trunc('minute', now()))::float8 AS seconds_into_minute,
      ops.histogram_quantile(ops.sum_buckets(run_ms_buckets), 0.5) AS run_p50,
      ops.histogram_quantile(ops.sum_buckets(run_ms_buckets), 0.95) AS run_p95,
      ops.histogram_quantile(ops.sum_buckets(pickup_ms_buckets), 0.5) AS pickup_p50,
      ops.histogram_quantile(ops.sum_buckets(pickup_ms_buckets), 0.95) AS pickup_p95
    FROM w GROUP BY queue
  `.execute(db);
  const found = new Map(rows.map((r) => [r.queue, r]));
  const secondsInto = rows[0]?.seconds_into_minute ?? 0;
  const stats = (minutes: number, c?: string, f?: string, r?: string): WindowStats => {
    const span = (minutes - 1) * 60 + Math.max(secondsInto, 1);
    const completed = Number(c ?? 0);
    return { completed, failed: Number(f ?? 0), retried: Number(r ?? 0), completedPerSecond: round(completed / span) };
  };
  return queues.map((queue) => {
    const r = found.get(queue);
    return {
      queue,
      windows: { "1m": stats(1, r?.c1, r?.f1, r?.r1), "5m": stats(5, r?.c5, r?.f5, r?.r5), "15m": stats(15, r?.c15, r?.f15, r?.r15) },
      runTimeMs: { p50: roundOrNull(r?.run_p50), p95: roundOrNull(r?.run_p95) },
      pickupMs: { p50: roundOrNull(r?.pickup_p50), p95: roundOrNull(r?.pickup_p95) },
    };
  });
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
function roundOrNull(n: number | null | undefined): number | null {
  return n === null || n === undefined ? null : round(n);
}

export interface QueueTotals {
  queue: string;
  completed: number;
  failed: number;
  retried: number;
}

/** Totals per queue over the last `hours`; limited to one organisation when `db` is org-scoped. */
export async function rollupTotalsSince(db: Database, queues: readonly string[], hours: number): Promise<QueueTotals[]> {
  const { rows } = await sql<{ queue: string; completed: string; failed: string; retried: string }>`
    SELECT queue, sum(completed_count) AS completed, sum(failed_count) AS failed, sum(retried_count) AS retried
    FROM ops.job_rollup_minute
    WHERE minute >= date_trunc('minute', now() - make_interval(hours => ${hours})) AND queue = ANY(${[...queues]}::text[])
    GROUP BY queue
  `.execute(db);
  const found = new Map(rows.map((r) => [r.queue, r]));
  return queues.map((queue) => {
    const r = found.get(queue);
    return { queue, completed: Number(r?.completed ?? 0), failed: Number(r?.failed ?? 0), retried: Number(r?.retried ?? 0) };
  });
}

/** How long per-minute rollups are kept: usage reports look back 30 days, trends a quarter. */
export const ROLLUP_KEEP_DAYS = 90;

/**
 * Deletes rollup minutes older than `keepDays`, oldest first in batches (the unique key leads with
 * minute), so a first run over a long backlog does not hold one huge delete. Returns how many.
 */
export async function rollupsPrune(db: OwnerDatabase, keepDays = ROLLUP_KEEP_DAYS, batchSize = 10_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM ops.job_rollup_minute WHERE ctid IN (
        SELECT ctid FROM ops.job_rollup_minute WHERE minute < now() - make_interval(days => ${keepDays}) ORDER BY minute LIMIT ${batchSize}
      )
    `.execute(db);
    const count = Number(result.numAffectedRows ?? 0);
    deleted += count;
    if (count < batchSize) return deleted;
  }
}
