import { LATENCY_BUCKET_COUNT, type RollupRow } from "../../core/jobs/rollups.ts";

export type JobOutcomeStatus = "completed" | "retried" | "failed";

export interface JobOutcome {
  queue: string;
  orgId: string | null;
  status: JobOutcomeStatus;
  runMs: number;
  pickupMs: number | null;
}

/**
 * Aggregates job outcomes per (minute, queue, organisation) in memory, so the database sees one
 * upsert per group every few seconds instead of a write per job.
 */
export class RollupBuffer {
  #rows = new Map<string, RollupRow>();

  /** `runBucket`/`pickupBucket`: the latencies' histogram buckets, looked up once by the caller. */
  record(outcome: JobOutcome, runBucket: number, pickupBucket: number | null, at: number = Date.now()): void {
    const minuteMs = at - (at % 60_000);
    const key = rowKey(minuteMs, outcome.queue, outcome.orgId);
    let row = this.#rows.get(key);
    if (!row) {
      row = {
        minute: new Date(minuteMs),
        queue: outcome.queue,
        orgId: outcome.orgId,
        completed: 0,
        failed: 0,
        retried: 0,
        runMsSum: 0,
        runMsMax: 0,
        runMsBuckets: new Array<number>(LATENCY_BUCKET_COUNT).fill(0),
        pickupMsBuckets: new Array<number>(LATENCY_BUCKET_COUNT).fill(0),
      };
      this.#rows.set(key, row);
    }
    row[outcome.status]++;
    const runMs = Math.round(outcome.runMs);
    row.runMsSum += runMs;
    row.runMsMax = Math.max(row.runMsMax, runMs);
    row.runMsBuckets[runBucket]!++;
    if (pickupBucket !== null) row.pickupMsBuckets[pickupBucket]!++;
  }

  /** Hands over everything recorded so far and starts empty. */
  take(): RollupRow[] {
    const rows = [...this.#rows.values()];
    this.#rows = new Map();
    return rows;
  }

  /** Puts rows back after a failed write, merging with anything recorded meanwhile. */
  restore(rows: readonly RollupRow[]): void {
    for (const row of rows) {
      const key = rowKey(row.minute.getTime(), row.queue, row.orgId);
      const current = this.#rows.get(key);
      if (!current) {
        this.#rows.set(key, row);
        continue;
      }
      current.completed += row.completed;
      current.failed += row.failed;
      current.retried += row.retried;
      current.runMsSum += row.runMsSum;
      current.runMsMax = Math.max(current.runMsMax, row.runMsMax);
      for (const [i, n] of row.runMsBuckets.entries()) current.runMsBuckets[i]! += n;
      for (const [i, n] of row.pickupMsBuckets.entries()) current.pickupMsBuckets[i]! += n;
    }
  }
}

function rowKey(minuteMs: number, queue: string, orgId: string | null): string {
  return `${minuteMs}|${queue}|${orgId ?? ""}`;
}
