import { sql } from "kysely";
import type { z } from "zod";
import type { AppDatabase } from "../db/connect.ts";
import { inOrgStatement, type OrgTransaction } from "../db/org-scope.ts";
import { findJobType, jobTypeNames, type JobTypeByName, type JobTypeName } from "./catalogue.ts";
import type { JobType } from "./define-job.ts";
import {
  fieldProblems,
  IdempotencyConflictError,
  JobNotQueuedError,
  PayloadInvalidError,
  QuotaExceededError,
  UnknownJobTypeError,
} from "./errors.ts";
import { storableJsonProblem } from "./storable-json.ts";

export interface EnqueueOptions {
  /** Higher runs first. */
  priority?: number;
  /** Do not start before this instant (a Date) or this many seconds from now (a number). */
  startAfter?: Date | number;
  /** The same key again (same organisation and type) returns the first job instead of adding one. */
  idempotencyKey?: string;
  /** For singleton-style queue policies: at most one job per key in the states the policy covers. */
  singletonKey?: string;
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

/** A job as app.enqueue_many takes it (migrations/0009): the organisation comes from the scope. */
interface SqlJob {
  type: string;
  payload: unknown;
  options: { priority?: number; startAfter?: string | number; idempotencyKey?: string; singletonKey?: string };
}

interface SqlResult {
  ord: number;
  id: string;
  created: boolean;
}

/**
 * The one way jobs enter the system. It validates each payload against its job type's schema,
 * then calls app.enqueue_many inside the caller's organisation-scoped transaction, so a job and
 * the rows it is about commit together or not at all. That function (security definer) writes
 * pg-boss's rows for the organisation of the verified scope: the application role has no access
 * to pg-boss's tables, so no SQL it runs can queue a job for another organisation.
 */
export class JobClient {
  readonly #db: AppDatabase | undefined;

  /** `db` (the app handle) is needed only by enqueueStandalone. */
  constructor(db?: AppDatabase) {
    this.#db = db;
  }

  enqueue<N extends JobTypeName>(
    trx: OrgTransaction,
    type: N,
    payload: z.input<JobTypeByName<N>["payload"]>,
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  enqueue(trx: OrgTransaction, type: string, payload: unknown, options?: EnqueueOptions): Promise<EnqueueResult>;
  async enqueue(trx: OrgTransaction, type: string, payload: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const job = checkedJob({ type, payload, options });
    const [result] = await single(() => sendAll(trx, [job]));
    return settled(job, result!);
  }

  /**
   * Sends one job for an organisation in a statement of its own: one round trip, for callers with
   * nothing else to commit (the jobs API), where the organisation comes from a verified token.
   */
  async enqueueStandalone(orgId: string, type: string, payload: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (!this.#db) throw new TypeError("enqueueStandalone needs the app handle: construct JobClient with it");
    const job = checkedJob({ type, payload, options });
    const db = this.#db;
    const [result] = await single(() =>
      inOrgStatement(
        db,
        orgId,
        (scope) => sql<SqlResult>`
        SELECT r.ord, r.id, r.created
        FROM (SELECT ${scope} AS scope) s
        CROSS JOIN LATERAL app.enqueue_many(CASE WHEN s.scope IS NOT NULL THEN ${JSON.stringify([job])}::jsonb END) r
      `,
      ),
    );
    return settled(job, result!);
  }

  /**
   * Validates every job first and enqueues none unless all are valid; then one insert per type.
   * Results come back in request order.
   */
  async enqueueMany(trx: OrgTransaction, requests: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
    const failures: { index: number; error: Error }[] = [];
    const jobs = requests.map((request, index) => {
      try {
        return checkedJob(request);
      } catch (error) {
        failures.push({ index, error: error as Error });
        return undefined;
      }
    });
    const seen = new Map<string, number>();
    jobs.forEach((job, index) => {
      const key = job?.options.idempotencyKey === undefined ? undefined : `${job.type}\u0000${job.options.idempotencyKey}`;
      if (key === undefined) return;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else failures.push({ index, error: new Error(`repeats the idempotency key of job [${first}] in this request`) });
    });
    if (failures.length > 0) throw new BulkEnqueueError(failures.sort((a, b) => a.index - b.index));
    const checked = jobs as SqlJob[];
    if (checked.length === 0) return [];
    try {
      return (await sendAll(trx, checked)).map((r) => ({ id: r.id, created: r.created }));
    } catch (error) {
      const conflicts = idempotencyConflicts(error);
      if (!conflicts) throw QuotaExceededError.fromDatabase(error) ?? error;
      throw new BulkEnqueueError(conflicts.map((c) => ({ index: c.ord - 1, error: new IdempotencyConflictError(c.id) })));
    }
  }
}

function sendAll(trx: OrgTransaction, jobs: readonly SqlJob[]): Promise<SqlResult[]> {
  return sql<SqlResult>`SELECT ord, id, created FROM app.enqueue_many(${JSON.stringify(jobs)}::jsonb)`.execute(trx).then((r) => r.rows);
}

/** Runs a one-job send, turning the database's idempotency conflict into the domain error. */
async function single(send: () => Promise<SqlResult[]>): Promise<SqlResult[]> {
  try {
    return await send();
  } catch (error) {
    const conflict = idempotencyConflicts(error)?.[0];
    if (conflict) throw new IdempotencyConflictError(conflict.id);
    throw QuotaExceededError.fromDatabase(error) ?? error;
  }
}

/** The jobs of an "idempotency key reused with another payload" error (unique_violation, DETAIL as JSON). */
function idempotencyConflicts(error: unknown): { ord: number; id: string }[] | undefined {
  const { code, detail } = error as { code?: string; detail?: string };
  if (code !== "23505" || !detail?.startsWith("[")) return undefined;
  return JSON.parse(detail) as { ord: number; id: string }[];
}

/** The result of a send: created, an idempotent repeat, or refused by the queue's policy. */
function settled(job: SqlJob, result: SqlResult): EnqueueResult {
  if (result.created || job.options.idempotencyKey !== undefined) return { id: result.id, created: result.created };
  throw new JobNotQueuedError(
    job.type,
    `its queue's "${findJobType(job.type)!.queue.policy}" policy already holds a job with this singleton key`,
  );
}

function checkedJob(request: EnqueueRequest): SqlJob {
  const { type, payload, options = {} } = request;
  const job: JobType | undefined = findJobType(type);
  if (!job) throw new UnknownJobTypeError(type, jobTypeNames());
  const unstorable = storableJsonProblem(payload, "payload");
  if (unstorable) throw new PayloadInvalidError(type, [unstorable]);
  const parsed = job.payload.safeParse(payload);
  if (!parsed.success) throw new PayloadInvalidError(type, fieldProblems(parsed.error.issues, "payload"));
  if (options.priority !== undefined && !Number.isInteger(options.priority)) {
    throw new TypeError("enqueue: priority must be an integer");
  }
  return {
    type,
    payload: parsed.data,
    options: {
      priority: options.priority,
      startAfter: options.startAfter instanceof Date ? options.startAfter.toISOString() : options.startAfter,
      idempotencyKey: options.idempotencyKey,
      singletonKey: options.singletonKey,
    },
  };
}
