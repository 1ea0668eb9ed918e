import { LATENCY_BUCKET_COUNT, type RollupRow } from "../../core/jobs/rollups.ts";

/** A per-minute rollup row of one completed 1 ms job of `queue` for `orgId`, in `minute` (now's, by default). */
export function oneCompletedJobRollup(
  orgId: string,
  minute = new Date(Math.floor(Date.now() / 60_000) * 60_000),
  queue = "test-job",
): RollupRow {
  const zeros = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
  return {
    minute,
    queue,
    orgId,
    completed: 1,
    failed: 0,
    retried: 0,
    runMsSum: 1,
    runMsMax: 1,
    runMsBuckets: zeros,
    pickupMsBuckets: zeros,
  };
}
