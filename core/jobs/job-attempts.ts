import { sql } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";
import type { OrgTransaction } from "../db/org-scope.ts";

/** Failed attempts of jobs (app.job_attempts), the history pg-boss does not keep. */

export interface FailedAttempt {
  attempt: number;
  failedAt: Date;
  runMs: number;
  message: string;
  final: boolean;
}

/** Longest error message kept per attempt; the job's own output keeps the full last error and stack. */
const MESSAGE_MAX = 2000;
/** pg-boss deletes jobs at most 21 days after they were created (14 days retention + 7 after completion). */
const KEEP_DAYS = 30;

export interface FailedAttemptRecord {
  orgId: string;
  jobId: string;
  attempt: number;
  runMs: number;
  message: string;
  final: boolean;
}

/** The statement and values that record one failed attempt (once: a repeat of the same attempt is ignored). */
export function failedAttemptInsert(record: FailedAttemptRecord): { text: string; values: unknown[] } {
  return {
    text: `INSERT INTO app.job_attempts (org_id, job_id, attempt, run_ms, message, final) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (org_id, job_id, attempt) DO NOTHING`,
    values: [
      record.orgId,
      record.jobId,
      record.attempt,
      Math.max(0, Math.round(record.runMs)),
      record.message.slice(0, MESSAGE_MAX),
      record.final,
    ],
  };
}

export async function failedAttemptsOfJob(trx: OrgTransaction, jobId: string): Promise<FailedAttempt[]> {
  const rows = await trx.selectFrom("app.job_attempts").selectAll().where("job_id", "=", jobId).orderBy("attempt").execute();
  return rows.map((r) => ({ attempt: r.attempt, failedAt: r.failed_at, runMs: r.run_ms, message: r.message, final: r.final }));
}

/** Deletes attempts older than any job pg-boss keeps. */
export async function failedAttemptsPrune(db: OwnerDatabase): Promise<number> {
  const result = await db
    .deleteFrom("app.job_attempts")
    .where("failed_at", "<", sql<Date>`now() - make_interval(days => ${KEEP_DAYS})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
