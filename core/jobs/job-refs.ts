import { sql } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";

/**
 * app.job_refs keeps one row per job for the jobs console (see migrations/0003). pg-boss deletes
 * jobs on its own schedule (each queue's retention and deleteAfter), so refs whose job is gone are
 * removed here, oldest first.
 */

export interface JobRefsPruneOptions {
  /** Refs younger than this are left alone: their jobs are almost surely still there. */
  minAgeSeconds?: number;
  batchSize?: number;
  /** Upper bound on work per call, so one call never holds the database for long. */
  maxBatches?: number;
}

/**
 * Walks refs from the oldest in batches and deletes those whose job no longer exists. Stops at the
 * first batch where every job still exists: refs are ordered by creation and pg-boss deletes old
 * jobs first, so past that point there is (almost) nothing left to prune until later. Returns the
 * number of refs deleted.
 */
export async function jobRefsPrune(db: OwnerDatabase, options: JobRefsPruneOptions = {}): Promise<number> {
  const minAgeSeconds = options.minAgeSeconds ?? 3600;
  const batchSize = options.batchSize ?? 5000;
  const maxBatches = options.maxBatches ?? 50;
  let deleted = 0;
  // The cursor keeps created_at as text: a JS Date would drop the microseconds.
  let after: { createdAt: string; jobId: string } | undefined;
  for (let batch = 0; batch < maxBatches; batch++) {
    const cursor = after ? sql`AND (created_at, job_id) > (${after.createdAt}::timestamptz, ${after.jobId}::uuid)` : sql``;
    const { rows } = await sql<{ deleted: string; last_created_at: string | null; last_job_id: string | null; scanned: string }>`
      WITH batch AS (
        SELECT org_id, job_id, type, created_at FROM app.job_refs
        WHERE created_at < now() - make_interval(secs => ${minAgeSeconds}) ${cursor}
        ORDER BY created_at, job_id
        LIMIT ${batchSize}
      ), gone AS (
        DELETE FROM app.job_refs r USING batch b
        WHERE r.org_id = b.org_id AND r.job_id = b.job_id
          AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = b.type AND j.id = b.job_id)
        RETURNING 1
      ), last AS (
        SELECT created_at, job_id FROM batch ORDER BY created_at DESC, job_id DESC LIMIT 1
      )
      SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT count(*) FROM batch) AS scanned,
             (SELECT created_at::text FROM last) AS last_created_at, (SELECT job_id FROM last) AS last_job_id
    `.execute(db);
    const row = rows[0]!;
    deleted += Number(row.deleted);
    if (Number(row.deleted) === 0 || Number(row.scanned) < batchSize || row.last_created_at === null) break;
    after = { createdAt: row.last_created_at, jobId: row.last_job_id! };
  }
  return deleted;
}
