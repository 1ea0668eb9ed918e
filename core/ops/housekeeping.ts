import { sql } from "kysely";
import { invitationsPrune } from "../accounts/invitations.ts";
import { passwordResetsPrune } from "../accounts/password-resets.ts";
import { sessionsPrune } from "../accounts/sessions.ts";
import { signupRequestsPrune } from "../accounts/signup-requests.ts";
import { failedAttemptsPrune } from "../jobs/job-attempts.ts";
import { jobRefsPrune } from "../jobs/job-refs.ts";
import { jobSnoozesPrune } from "../jobs/job-snoozes.ts";
import { rollupsPrune } from "../jobs/rollups.ts";
import { workerInstancePrune } from "../jobs/worker-instances.ts";
import type { OwnerDatabase } from "../db/connect.ts";
import { usageCountersPrune } from "../plans/subscription.ts";

/** Arbitrary constant: one replica at a time does the housekeeping (pg_try_advisory_lock). */
const HOUSEKEEPING_LOCK_ID = 7_351_204_118n;

export interface HousekeepingReport {
  jobRefs: number;
  failedAttempts: number;
  jobSnoozes: number;
  sessions: number;
  passwordResets: number;
  invitations: number;
  signupRequests: number;
  workerInstances: number;
  rollupMinutes: number;
  usageCounters: number;
}

/**
 * Deletes rows that have served their purpose: refs of jobs pg-boss has deleted, month-old failed
 * attempts and snoozes, ended sessions, spent reset tokens and sign-up links, long-expired invitations, workers gone for a week,
 * rollup minutes past 90 days, usage counters past 62. Every worker replica calls it on a timer; the advisory lock makes
 * all but one skip (returns undefined when skipped).
 */
export async function runHousekeeping(db: OwnerDatabase): Promise<HousekeepingReport | undefined> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{
      locked: boolean;
    }>`SELECT pg_try_advisory_lock(${HOUSEKEEPING_LOCK_ID.toString()}::bigint) AS locked`.execute(conn);
    if (!rows[0]!.locked) return undefined;
    try {
      const owner = conn as OwnerDatabase;
      return {
        jobRefs: await jobRefsPrune(owner),
        failedAttempts: await failedAttemptsPrune(owner),
        jobSnoozes: await jobSnoozesPrune(owner),
        sessions: await sessionsPrune(owner),
        passwordResets: await passwordResetsPrune(owner),
        invitations: await invitationsPrune(owner),
        signupRequests: await signupRequestsPrune(owner),
        workerInstances: await workerInstancePrune(owner, 7),
        rollupMinutes: await rollupsPrune(owner),
        usageCounters: await usageCountersPrune(owner),
      };
    } finally {
      await sql`SELECT pg_advisory_unlock(${HOUSEKEEPING_LOCK_ID.toString()}::bigint)`.execute(conn);
    }
  });
}
