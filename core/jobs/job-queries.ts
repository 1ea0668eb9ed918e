import { sql, type RawBuilder } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";
import type { OrgTransaction } from "../db/org-scope.ts";
import { allQueueNames, jobTypeNames } from "./catalogue.ts";

/**
 * Reads of jobs. Tenant reads go through the app.jobs view inside an org-scoped transaction, so the
 * database limits them to the organisation; operator reads (metrics) use the owner handle.
 *
 * pg-boss's primary key is (name, id), so every lookup names the candidate queues: an id alone
 * could not use the index.
 */

export type JobState = "created" | "retry" | "active" | "completed" | "cancelled" | "failed";

export interface JobRecord {
  id: string;
  type: string;
  state: JobState;
  priority: number;
  payload: unknown;
  output: unknown;
  retryCount: number;
  retryLimit: number;
  createdAt: Date;
  startAfter: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  deadLetteredFrom: string | null;
  deadLetteredJobId: string | null;
}

/** Attempts started so far: pg-boss counts retries in retry_count, and sets started_on once a job has run. */
export function attemptsStarted(job: { startedAt: Date | null; retryCount: number }): number {
  return job.startedAt ? job.retryCount + 1 : job.retryCount;
}

/** Whether a job's output is its last failure (failed, waiting to retry, or cancelled after one) rather than a result. */
export function outputIsError(job: { state: JobState; output: unknown }): boolean {
  return job.state === "failed" || job.state === "retry" || (job.state === "cancelled" && job.output !== null);
}

export async function jobGetForOrg(trx: OrgTransaction, id: string): Promise<JobRecord | undefined> {
  const row = await trx
    .selectFrom("app.jobs")
    .select([
      "id",
      "type",
      "state",
      "priority",
      "payload",
      "output",
      "retry_count",
      "retry_limit",
      "created_at",
      "start_after",
      "started_at",
      "completed_at",
      "dead_lettered_from",
      "dead_lettered_job_id",
    ])
    .where("id", "=", id)
    .where("type", "in", allQueueNames())
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id!,
    type: row.type!,
    state: row.state as JobState,
    priority: row.priority!,
    payload: row.payload,
    output: row.output,
    retryCount: row.retry_count!,
    retryLimit: row.retry_limit!,
    createdAt: row.created_at!,
    startAfter: row.start_after!,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    deadLetteredFrom: row.dead_lettered_from,
    deadLetteredJobId: row.dead_lettered_job_id,
  };
}

/** Whether the organisation's job `id` carries exactly this payload (jsonb equality ignores key order). */
export async function jobPayloadMatches(trx: OrgTransaction, id: string, type: string, payload: unknown): Promise<boolean> {
  const { rows } = await sql<{ same: boolean }>`
    SELECT payload = ${JSON.stringify(payload)}::jsonb AS same FROM app.jobs WHERE id = ${id} AND type = ${type}
  `.execute(trx);
  return rows[0]?.same ?? false;
}

export interface QueueDepth {
  queue: string;
  /** Waiting and due now. */
  queued: number;
  /** Waiting for a future start time. */
  deferred: number;
  /** Failed, waiting for another attempt. */
  retry: number;
  active: number;
}

/**
 * Jobs not yet finished, per queue, counted live. Each half of the query matches the predicate of
 * one of pg-boss's partial indexes (waiting jobs: state < 'active' AND NOT blocked; active jobs with
 * a group, which all of ours are), so it walks the backlog rather than the whole table, whose
 * finished rows are kept for days. From pgboss.job (every organisation, owner handle) or from the
 * app.jobs view (one organisation, org-scoped transaction).
 */
function depthQuery(relation: "pgboss.job" | "app.jobs", queues: readonly string[]) {
  const rel = sql.table(relation);
  const name = sql.ref(relation === "pgboss.job" ? "name" : "type");
  const names = [...queues];
  return sql<{ queue: string; queued: string; deferred: string; retry: string; active: string }>`
    SELECT queue, sum(queued) AS queued, sum(deferred) AS deferred, sum(retry) AS retry, sum(active) AS active
    FROM (
      SELECT ${name} AS queue,
        count(*) FILTER (WHERE state = 'created' AND start_after <= now()) AS queued,
        count(*) FILTER (WHERE state = 'created' AND start_after > now()) AS deferred,
        count(*) FILTER (WHERE state = 'retry') AS retry,
        0 AS active
      FROM ${rel}
      WHERE ${name} = ANY(${names}::text[]) AND state < 'active' AND NOT blocked
      GROUP BY 1
      UNION ALL
      SELECT ${name}, 0, 0, 0, count(*)
      FROM ${rel}
      WHERE ${name} = ANY(${names}::text[]) AND state = 'active'${relation === "pgboss.job" ? sql` AND group_id IS NOT NULL` : sql``}
      GROUP BY 1
    ) parts
    GROUP BY queue
  `;
}

async function depth(
  db: OwnerDatabase | OrgTransaction,
  relation: "pgboss.job" | "app.jobs",
  queues: readonly string[],
): Promise<QueueDepth[]> {
  const { rows } = await depthQuery(relation, queues).execute(db);
  const found = new Map(rows.map((r) => [r.queue, r]));
  return queues.map((queue) => {
    const r = found.get(queue);
    return {
      queue,
      queued: Number(r?.queued ?? 0),
      deferred: Number(r?.deferred ?? 0),
      retry: Number(r?.retry ?? 0),
      active: Number(r?.active ?? 0),
    };
  });
}

/** Every organisation's unfinished jobs per queue (operators, metrics). */
export function queueDepthAll(db: OwnerDatabase, queues: readonly string[]): Promise<QueueDepth[]> {
  return depth(db, "pgboss.job", queues);
}

/** One organisation's unfinished jobs per queue. */
export function queueDepthForOrg(trx: OrgTransaction, queues: readonly string[]): Promise<QueueDepth[]> {
  return depth(trx, "app.jobs", queues);
}

export interface JobListFilter {
  type?: string;
  state?: JobState;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
  /** Text that must appear in the payload (case-insensitive, literal). */
  text?: string;
  /** Keyset cursor: the last row of the previous page (its exact time, in microseconds, as text). */
  after?: { createdAt: string; id: string };
  limit: number;
}

export interface JobListItem {
  id: string;
  type: string;
  state: JobState;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

export class JobSearchTooSlowError extends Error {
  constructor() {
    super("this search took too long; narrow it with a job type, a state or a shorter time range");
    this.name = "JobSearchTooSlowError";
  }
}

/** How long a console search may run before it is stopped (filters on the payload text can scan). */
const LIST_TIMEOUT_MS = 3000;

/**
 * One page of the organisation's jobs, newest first, keyset-paged by (created_at, id).
 *
 * Which index drives the page depends on the state filter, so a page never walks history looking
 * for rare rows. Without one, or for completed jobs (most of history, so matches are dense), pages
 * walk app.job_refs (an index per organisation, and per type) and read each row's state from
 * app.jobs by primary key; jobs pg-boss has already deleted drop out of the join. Unfinished jobs
 * come straight from pg-boss's backlog indexes, failed and cancelled ones from
 * app_job_failed_by_org_idx (migrations/0004): a queue stuck a week ago or the last failure a
 * month back costs the same as today's.
 */
export async function jobListForOrg(
  trx: OrgTransaction,
  filter: JobListFilter,
): Promise<{ items: JobListItem[]; next: { createdAt: string; id: string } | null }> {
  await sql`SELECT set_config('statement_timeout', ${String(LIST_TIMEOUT_MS)}, true)`.execute(trx);
  const byState = filter.state !== undefined && filter.state !== "completed";
  const rows = await (byState ? pageByState(trx, filter) : pageByRefs(trx, filter))
    .limit(filter.limit + 1)
    .execute()
    .catch((error: unknown) => {
      if ((error as { code?: string }).code === "57014") throw new JobSearchTooSlowError();
      throw error;
    });
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      id: r.job_id!,
      type: r.type!,
      state: r.state as JobState,
      attempts: attemptsStarted({ startedAt: r.started_at, retryCount: r.retry_count! }),
      createdAt: r.created_at!,
      startedAt: r.started_at,
      completedAt: r.completed_at,
    })),
    next: rows.length > filter.limit && last ? { createdAt: last.cursor_at, id: last.job_id! } : null,
  };
}

/** The filters both page sources share, on whichever relation supplies type, time and id. */
function sharedConditions(filter: JobListFilter, columns: { type: string; createdAt: string; id: string }): RawBuilder<boolean>[] {
  const type = sql.ref(columns.type);
  const createdAt = sql.ref(columns.createdAt);
  const id = sql.ref(columns.id);
  const conditions: RawBuilder<boolean>[] = [];
  if (filter.type) conditions.push(sql<boolean>`${type} = ${filter.type}`);
  if (filter.from) conditions.push(sql<boolean>`${createdAt} >= ${filter.from}`);
  if (filter.to) conditions.push(sql<boolean>`${createdAt} < ${filter.to}`);
  if (filter.after) {
    const at = sql`${filter.after.createdAt}::timestamptz`;
    // The first condition is implied by the second, and there for the indexes: under row-level
    // security only leakproof conditions may become index conditions, and an OR of them is not one.
    conditions.push(sql<boolean>`${createdAt} <= ${at}`);
    conditions.push(sql<boolean>`(${createdAt} < ${at} OR (${createdAt} = ${at} AND ${id} < ${filter.after.id}))`);
  }
  if (filter.text) conditions.push(sql<boolean>`position(lower(${filter.text}) in lower(j.payload::text)) > 0`);
  return conditions;
}

// A JS Date keeps milliseconds; the cursor needs the stored microseconds or rows inside the same
// millisecond as a page's last row would be skipped.
function cursorText(column: string) {
  return sql<string>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("cursor_at");
}

function pageByRefs(trx: OrgTransaction, filter: JobListFilter) {
  let query = trx
    .selectFrom("app.job_refs as r")
    .innerJoin("app.jobs as j", (join) => join.onRef("j.id", "=", "r.job_id").onRef("j.type", "=", "r.type"))
    .select(["r.job_id", "r.type", "r.created_at", "j.state", "j.retry_count", "j.started_at", "j.completed_at"])
    .select(cursorText("r.created_at"));
  if (filter.state) query = query.where("j.state", "=", filter.state);
  for (const condition of sharedConditions(filter, { type: "r.type", createdAt: "r.created_at", id: "r.job_id" }))
    query = query.where(condition);
  return query.orderBy("r.created_at", "desc").orderBy("r.job_id", "desc");
}

function pageByState(trx: OrgTransaction, filter: JobListFilter) {
  let query = trx
    .selectFrom("app.jobs as j")
    .select(["j.id as job_id", "j.type", "j.created_at", "j.state", "j.retry_count", "j.started_at", "j.completed_at"])
    .select(cursorText("j.created_at"))
    .where("j.state", "=", filter.state!)
    // The catalogue's types, as job_refs holds: dead-letter copies are listed by their original.
    .where("j.type", "in", jobTypeNames());
  // pg-boss's backlog index covers unblocked jobs only; ours are never blocked (no dependencies).
  if (filter.state === "created" || filter.state === "retry") query = query.where("j.blocked", "=", false);
  for (const condition of sharedConditions(filter, { type: "j.type", createdAt: "j.created_at", id: "j.id" }))
    query = query.where(condition);
  // The state is fixed by the filter, so ordering by it first changes nothing but the plan: a state
  // comparison is not leakproof, so under row-level security it cannot be an index condition, and
  // only this order lets app_job_failed_by_org_idx (group_id, state, created_on, id) stop at a page.
  return query.orderBy("j.state").orderBy("j.created_at", "desc").orderBy("j.id", "desc");
}
