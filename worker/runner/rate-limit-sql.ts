import type pg from "pg";
import type { RateLimitSpend } from "../../core/jobs/rate-limits.ts";

/** The runner's statements over the keyed rate-limit budgets (migrations/0013, docs/decisions/011). */

export interface Admission {
  admitted: boolean;
  /** Admitted: wait this long, then start. Not admitted: snooze this long. */
  waitSeconds: number;
}

/**
 * Books a start for each job from its budgets, in one statement, in the order given. A job is
 * admitted when all its budgets allow a start within `holdSeconds`.
 */
export async function rateLimitAdmit(
  pool: pg.Pool,
  jobs: readonly (readonly RateLimitSpend[])[],
  holdSeconds: number,
): Promise<Admission[]> {
  const index: number[] = [];
  const keys: string[] = [];
  const seconds: number[] = [];
  jobs.forEach((spends, i) => {
    for (const spend of spends) {
      index.push(i);
      keys.push(spend.key);
      seconds.push(spend.seconds);
    }
  });
  const { rows } = await pool.query<{ job: number; admitted: boolean; wait_seconds: number }>({
    name: "gpt-rate-limit-admit",
    text: "SELECT job, admitted, wait_seconds FROM ops.rate_limit_admit($1::int[], $2::text[], $3::float8[], $4)",
    values: [index, keys, seconds, holdSeconds],
  });
  const admissions: Admission[] = jobs.map(() => ({ admitted: true, waitSeconds: 0 }));
  for (const row of rows) admissions[row.job] = { admitted: row.admitted, waitSeconds: Math.max(0, row.wait_seconds) };
  return admissions;
}

/** An upstream answered 429: nothing starts from `keys` for `seconds`. */
export async function rateLimitPush(pool: pg.Pool, keys: readonly string[], seconds: number): Promise<void> {
  await pool.query({ name: "gpt-rate-limit-push", text: "SELECT ops.rate_limit_push($1::text[], $2)", values: [keys, seconds] });
}

/** How many times a job has snoozed itself so far (its type's rate limits not counted). */
export async function handlerSnoozeCount(pool: pg.Pool, orgId: string, jobId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>({
    name: "gpt-handler-snooze-count",
    text: "SELECT count(*)::int AS n FROM app.job_snoozes WHERE org_id = $1 AND job_id = $2 AND kind = 'handler'",
    values: [orgId, jobId],
  });
  return rows[0]?.n ?? 0;
}
