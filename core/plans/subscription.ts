import { sql } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";
import type { OrgTransaction } from "../db/org-scope.ts";

export type QuotaName = "max_waiting_jobs" | "jobs_per_day" | "llm_tokens_per_month";

export interface QuotaUsage {
  quota: QuotaName;
  /** null: the plan sets no limit. */
  limit: number | null;
  used: number;
  /** When the count starts over; null for waiting jobs, which free up as jobs start. */
  resetsAt: Date | null;
  /** used / limit (null without a limit): what the plan page draws. */
  fraction: number | null;
}

export interface Subscription {
  plan: { id: string; name: string; fairShareWeight: number; maxRunningPerQueue: number | null };
  quotas: QuotaUsage[];
  /** The quota nearest its limit (the largest fraction), or null when none has a limit. */
  closest: QuotaName | null;
}

interface UsageRow {
  plan_id: string;
  plan_name: string;
  fair_share_weight: number;
  max_running_per_queue: number | null;
  quota: QuotaName;
  quota_limit: string | null;
  used: string;
  resets_at: Date | null;
}

/** The plan, usage and limits of the transaction's organisation (app.subscription_usage, migrations/0016). */
export async function subscriptionOfOrg(trx: OrgTransaction): Promise<Subscription> {
  const { rows } = await sql<UsageRow>`SELECT * FROM app.subscription_usage()`.execute(trx);
  const first = rows[0];
  if (!first) throw new Error("app.subscription_usage returned nothing: is there a default plan in app.plans?");
  const quotas = rows.map((r): QuotaUsage => {
    const limit = r.quota_limit === null ? null : Number(r.quota_limit);
    const used = Number(r.used);
    return { quota: r.quota, limit, used, resetsAt: r.resets_at, fraction: limit === null ? null : used / limit };
  });
  const limited = quotas.filter((q) => q.fraction !== null);
  const closest = limited.length === 0 ? null : limited.reduce((a, b) => (b.fraction! > a.fraction! ? b : a)).quota;
  return {
    plan: {
      id: first.plan_id,
      name: first.plan_name,
      fairShareWeight: first.fair_share_weight,
      maxRunningPerQueue: first.max_running_per_queue,
    },
    quotas,
    closest,
  };
}

export interface PlanSummary {
  id: string;
  name: string;
  maxWaitingJobs: number | null;
  jobsPerDay: number | null;
  llmTokensPerMonth: number | null;
  maxRunningPerQueue: number | null;
  fairShareWeight: number;
}

/** Every plan, smallest first: what the plan page compares (plans are readable by every organisation). */
export async function plansList(trx: OrgTransaction): Promise<PlanSummary[]> {
  const rows = await trx
    .selectFrom("app.plans")
    .select(["id", "name", "max_waiting_jobs", "jobs_per_day", "llm_tokens_per_month", "max_running_per_queue", "fair_share_weight"])
    .orderBy("fair_share_weight")
    .orderBy("id")
    .execute();
  const count = (n: string | number | null) => (n === null ? null : Number(n));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    maxWaitingJobs: count(r.max_waiting_jobs),
    jobsPerDay: count(r.jobs_per_day),
    llmTokensPerMonth: count(r.llm_tokens_per_month),
    maxRunningPerQueue: r.max_running_per_queue,
    fairShareWeight: r.fair_share_weight,
  }));
}

/** Days of usage counters kept: today's and this month's quotas, and last month's for the record. */
const USAGE_KEEP_DAYS = 62;

/** Deletes usage counters older than USAGE_KEEP_DAYS (housekeeping). */
export async function usageCountersPrune(db: OwnerDatabase): Promise<number> {
  const result = await db
    .deleteFrom("ops.usage_counters")
    .where("period_start", "<", sql<Date>`current_date - ${USAGE_KEEP_DAYS}::int`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
