import { sql } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";
import type { OrgTransaction } from "../db/org-scope.ts";

/** Snoozes of jobs (app.job_snoozes): each time a job went back to waiting without spending an attempt. */

export interface JobSnoozeRecord {
  /** 1 for the job's first snooze, then 2, ... */
  n: number;
  /** The attempt that waited; it was not spent. */
  attempt: number;
  kind: "rate-limit" | "handler";
  reason: string;
  snoozedAt: Date;
  until: Date;
}

/** Kept as long as failed attempts (core/jobs/job-attempts.ts): longer than pg-boss keeps any job. */
const KEEP_DAYS = 30;

export async function snoozesOfJob(trx: OrgTransaction, jobId: string): Promise<JobSnoozeRecord[]> {
  const rows = await trx.selectFrom("app.job_snoozes").selectAll().where("job_id", "=", jobId).orderBy("n").execute();
  return rows.map((r) => ({
    n: r.n,
    attempt: r.attempt,
    kind: r.kind as JobSnoozeRecord["kind"],
    reason: r.reason,
    snoozedAt: r.snoozed_at,
    until: r.until_at,
  }));
}

export async function jobSnoozesPrune(db: OwnerDatabase): Promise<number> {
  const result = await db
    .deleteFrom("app.job_snoozes")
    .where("snoozed_at", "<", sql<Date>`now() - make_interval(days => ${KEEP_DAYS})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
