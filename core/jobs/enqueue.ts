import { randomUUID } from "node:crypto";
import { fromKysely, type JobInsert, type PgBoss } from "pg-boss";
import { sql, type Kysely } from "kysely";
import type pg from "pg";
import type { AppDatabase } from "../db/connect.ts";
import type { z } from "zod";
import { orgIdOf, isUuid, withOrg, type OrgTransaction } from "../db/org-scope.ts";
import type { DB } from "../db/types.ts";
import { findJobType, jobTypeNames, type JobTypeByName, type JobTypeName } from "./catalogue.ts";
import type { JobType } from "./define-job.ts";
import { fieldProblems, IdempotencyConflictError, JobNotQueuedError, PayloadInvalidError, UnknownJobTypeError } from "./errors.ts";
import { jobPayloadMatches } from "./job-queries.ts";
import { jobIdForIdempotencyKey } from "./idempotency.ts";
import { preparedStatementAdapter } from "./prepared-adapter.ts";

export interface EnqueueOptions {
  /** Higher runs first. */
  priority?: number;
  /** Do not start before this instant (a Date) or this many seconds from now (a number). */
  startAfter?: Date | number;
  /** The same key again (same organisation and type) returns the first job instead of adding one. */
  idempotencyKey?: string;
  /** For singleton-style queue policies: at most one job per key in the states the policy covers. */
  singletonKey?: string;
  /** Required when `db` is not an org-scoped transaction from withOrg; must match it when it is. */
  orgId?: string;
}

export interface EnqueueRequest {
  type: string;
  payload: unknown;
  options?: EnqueueOptions;
}

export interface EnqueueResult {
  id: string;
  /** False when an idempotency key matched a job that already exists. */
  created: boolean;
}

/** One problem in a bulk request, addressed by the job's position in it. */
export class BulkEnqueueError extends Error {
  readonly failures: readonly { index: number; error: Error }[];

  constructor(failures: readonly { index: number; error: Error }[]) {
    super(`${failures.length} job(s) rejected; nothing was enqueued: ${failures.map((f) => `[${f.index}] ${f.error.message}`).join("; ")}`);
    this.name = "BulkEnqueueError";
    this.failures = failures;
  }
}

type Handle = Kysely<DB>;

/**
 * The one way jobs enter the system. It validates the payload against the job type's schema and
 * sends it through pg-boss on the caller's own connection or transaction, so a job and the rows
 * it is about commit together or not at all. Every job carries its organisation (pg-boss group id).
 */
/** What enqueueStandalone needs: the app role's pool (to insert) and handle (to check idempotency). */
export interface StandaloneEnqueue {
  pool: pg.Pool;
  db: AppDatabase;
}

export class JobClient {
  readonly #boss: PgBoss;
  readonly #standalone: StandaloneEnqueue | undefined;

  constructor(boss: PgBoss, standalone?: StandaloneEnqueue) {
    this.#boss = boss;
    this.#standalone = standalone;
  }

  enqueue<N extends JobTypeName>(
    db: Handle,
    type: N,
    payload: z.input<JobTypeByName<N>["payload"]>,
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  enqueue(db: Handle, type: string, payload: unknown, options?: EnqueueOptions): Promise<EnqueueResult>;
  async enqueue(db: Handle, type: string, payload: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const scopedOrg = orgIdOf(db);
    const job = checkedJob(scopedOrg, { type, payload, options });
    // The job and its index row commit together: on a plain handle, in a transaction of our own.
    if (!db.isTransaction) {
      return db.transaction().execute(async (trx) => {
        await scoped(trx, job.options.group.id);
        return this.#send(trx, type, job, (id) => jobPayloadMatches(trx as OrgTransaction, id, type, job.data));
      });
    }
    // Within an organisation's transaction a repeated idempotency key can be checked against the
    // first job's payload; on any other handle the caller vouches for the repeat.
    const samePayload = scopedOrg ? (id: string) => jobPayloadMatches(db as OrgTransaction, id, type, job.data) : undefined;
    return this.#send(db, type, job, samePayload);
  }

  async #send(trx: Handle, type: string, job: CheckedJob, samePayload: ((id: string) => Promise<boolean>) | undefined): Promise<EnqueueResult> {
    const sent = await this.#boss.send(type, job.data as object, { ...job.options, db: fromKysely(trx) });
    if (sent) await jobRefsInsert(trx, [{ orgId: job.options.group.id, jobId: sent, type }]);
    return settled(type, job, sent, samePayload);
  }

  /**
   * Sends one job as the app role on a connection of its own, for callers with nothing else to
   * commit (the jobs API), where the organisation comes from a verified token. Three round trips:
   * one simple query opens the transaction, scopes it and indexes the job; pg-boss's insert runs
   * as a prepared statement; then COMMIT. Everything else about it matches enqueue().
   */
  async enqueueStandalone(orgId: string, type: string, payload: unknown, options: Omit<EnqueueOptions, "orgId"> = {}): Promise<EnqueueResult> {
    const standalone = this.#standalone;
    if (!standalone) throw new TypeError("enqueueStandalone needs the app pool: construct JobClient with { pool, db }");
    const job = checkedJob(undefined, { type, payload, options: { ...options, orgId } });
    const id = job.options.id ?? randomUUID();
    const client = await standalone.pool.connect();
    let sent: string | null;
    try {
      // Inlined values are a validated UUID (twice) and a catalogue type name; quoted all the same.
      const [org, jobId, name] = [orgId, id, type].map((v) => client.escapeLiteral(v));
      await client.query(
        `BEGIN; SELECT set_config('app.org_id', ${org}, true); ` +
          `INSERT INTO app.job_refs (org_id, job_id, type) VALUES (${org}, ${jobId}, ${name}) ON CONFLICT DO NOTHING`,
      );
      sent = await this.#boss.send(type, job.data as object, { ...job.options, id, db: preparedStatementAdapter(client) });
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    return settled(type, job, sent, (existing) => withOrg(standalone.db, orgId, (trx) => jobPayloadMatches(trx, existing, type, job.data)));
  }

  /**
   * Validates every job first and enqueues none unless all are valid; then one bulk insert per
   * type. Results come back in request order.
   */
  async enqueueMany(db: Handle, requests: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
    const failures: { index: number; error: Error }[] = [];
    const checked = requests.map((request, index) => {
      try {
        return checkedJob(orgIdOf(db), request);
      } catch (error) {
        failures.push({ index, error: error as Error });
        return undefined;
      }
    });
    const seen = new Map<string, number>();
    checked.forEach((job, index) => {
      if (!job?.options.id) return;
      const first = seen.get(job.options.id);
      if (first === undefined) seen.set(job.options.id, index);
      else failures.push({ index, error: new Error(`repeats the idempotency key of job [${first}] in this request`) });
    });
    if (failures.length > 0) throw new BulkEnqueueError(failures.sort((a, b) => a.index - b.index));

    const jobs = checked as CheckedJob[];
    const ids = jobs.map((job) => job.options.id ?? randomUUID());
    const byType = new Map<string, { index: number; insert: JobInsert }[]>();
    jobs.forEach((job, index) => {
      const { db: _db, ...options } = job.options;
      const list = byType.get(job.type) ?? [];
      list.push({ index, insert: { ...options, id: ids[index], data: job.data as object } });
      byType.set(job.type, list);
    });
    const insertAll = async (trx: Handle) => {
      const inserted = new Set<string>();
      for (const [type, list] of byType) {
        const returned = await this.#boss.insert(type, list.map((l) => l.insert), { db: fromKysely(trx), returnId: true });
        for (const id of returned ?? []) inserted.add(id);
      }
      await jobRefsInsert(
        trx,
        jobs.flatMap((job, i) => (inserted.has(ids[i]!) ? [{ orgId: job.options.group.id, jobId: ids[i]!, type: job.type }] : [])),
      );
      return ids.map((id) => ({ id, created: inserted.has(id) }));
    };
    if (db.isTransaction) return insertAll(db);
    return db.transaction().execute(async (trx) => insertAll(await scoped(trx, jobs[0]!.options.group.id)));
  }
}

interface CheckedJob {
  type: string;
  data: unknown;
  options: {
    id?: string;
    priority?: number;
    startAfter?: Date | number;
    singletonKey?: string;
    group: { id: string };
    db?: undefined;
  };
}

/** The result of a send: created, an idempotent repeat (checked when we can), or refused by the queue's policy. */
async function settled(
  type: string,
  job: CheckedJob,
  sent: string | null,
  samePayload: ((id: string) => Promise<boolean>) | undefined,
): Promise<EnqueueResult> {
  if (sent) return { id: sent, created: true };
  const id = job.options.id;
  if (id) {
    if (samePayload && !(await samePayload(id))) throw new IdempotencyConflictError(id);
    return { id, created: false };
  }
  throw new JobNotQueuedError(type, `its queue's "${findJobType(type)!.queue.policy}" policy already holds a job with this singleton key`);
}

function checkedJob(scopedOrg: string | undefined, request: EnqueueRequest): CheckedJob {
  const { type, payload, options = {} } = request;
  const job: JobType | undefined = findJobType(type);
  if (!job) throw new UnknownJobTypeError(type, jobTypeNames());
  const parsed = job.payload.safeParse(payload);
  if (!parsed.success) throw new PayloadInvalidError(type, fieldProblems(parsed.error.issues, "payload"));

  if (scopedOrg && options.orgId && options.orgId !== scopedOrg) {
    throw new TypeError(`enqueue: options.orgId ${options.orgId} differs from the transaction's organisation ${scopedOrg}`);
  }
  const orgId = scopedOrg ?? options.orgId;
  if (!isUuid(orgId)) {
    throw new TypeError("enqueue: every job needs its organisation: pass a withOrg transaction or options.orgId (a UUID)");
  }
  if (options.priority !== undefined && !Number.isInteger(options.priority)) {
    throw new TypeError("enqueue: priority must be an integer");
  }
  return {
    type,
    data: parsed.data,
    // pg-boss validates every key present, so unset options must be absent rather than undefined.
    options: withoutUndefined({
      id: options.idempotencyKey === undefined ? undefined : jobIdForIdempotencyKey(orgId, type, options.idempotencyKey),
      priority: options.priority,
      startAfter: options.startAfter,
      singletonKey: options.singletonKey,
      group: { id: orgId },
    }),
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Scopes a transaction we opened ourselves to the jobs' organisation (RLS on app.job_refs). */
async function scoped(trx: Handle, orgId: string): Promise<Handle> {
  await sql`SELECT set_config('app.org_id', ${orgId}, true)`.execute(trx);
  return trx;
}

/** Index rows for newly created jobs (app.job_refs), so the jobs console can page by organisation. */
async function jobRefsInsert(trx: Handle, refs: readonly { orgId: string; jobId: string; type: string }[]): Promise<void> {
  if (refs.length === 0) return;
  await trx
    .insertInto("app.job_refs")
    .values(refs.map((r) => ({ org_id: r.orgId, job_id: r.jobId, type: r.type })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}
