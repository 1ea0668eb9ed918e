import { sql } from "kysely";
import type { PgBoss } from "pg-boss";
import type { OrgTransaction } from "../db/org-scope.ts";
import { jobCatalogue } from "./catalogue.ts";
import type { JobClient } from "./enqueue.ts";
import { jobGetForOrg, type JobRecord, type JobState } from "./job-queries.ts";

/**
 * Retry and cancel, shared by the jobs API and the web console. Ownership is checked through the
 * organisation's scope (app.jobs, app.dead_letters under RLS); pg-boss then changes the rows.
 */

export class JobActionError extends Error {
  readonly code: "job_not_found" | "not_retryable" | "not_cancellable" | "state_changed";
  readonly state: JobState | undefined;

  constructor(code: JobActionError["code"], message: string, state?: JobState) {
    super(message);
    this.name = "JobActionError";
    this.code = code;
    this.state = state;
  }
}

const deadLetterQueues = jobCatalogue.map((job) => job.deadLetterQueue);

async function requireJob(trx: OrgTransaction, id: string): Promise<JobRecord> {
  const job = await jobGetForOrg(trx, id);
  // Another organisation's job is indistinguishable from a missing one.
  if (!job) throw new JobActionError("job_not_found", `no job ${id} in this organisation`);
  return job;
}

async function afterChange(trx: OrgTransaction, id: string, before: JobState): Promise<JobRecord> {
  const job = await jobGetForOrg(trx, id);
  if (!job || job.state === before) {
    throw new JobActionError("state_changed", `job ${id} changed state while this request ran; fetch it and try again`);
  }
  return job;
}

/**
 * Removes the dead-letter copies of a job that is running again, so it is not listed as failed
 * twice. Found through root_job_id (indexed by pg-boss); a copy's root is the failed job itself,
 * since a retry reruns the same id and a re-enqueued job starts a chain of its own.
 */
async function dropDeadLetterCopies(trx: OrgTransaction, boss: PgBoss, jobId: string): Promise<void> {
  const copies = await sql<{ id: string; queue: string }>`
    SELECT dead_letter_job_id AS id, dead_letter_queue AS queue FROM app.dead_letters
    WHERE root_job_id = ${jobId} AND job_id = ${jobId} AND dead_letter_queue = ANY(${deadLetterQueues}::text[])
  `.execute(trx);
  for (const copy of copies.rows) await boss.deleteJob(copy.queue, copy.id);
}

/** Runs a failed or cancelled job again (same id, same payload). */
export async function retryJob(trx: OrgTransaction, boss: PgBoss, id: string): Promise<JobRecord> {
  const job = await requireJob(trx, id);
  if (job.state === "failed") {
    await boss.retry(job.type, id);
    await dropDeadLetterCopies(trx, boss, id);
  } else if (job.state === "cancelled") {
    await boss.resume(job.type, id);
  } else {
    throw new JobActionError("not_retryable", `job ${id} is ${job.state}; only failed or cancelled jobs can be retried`, job.state);
  }
  return afterChange(trx, id, job.state);
}

export async function cancelJob(trx: OrgTransaction, boss: PgBoss, id: string): Promise<JobRecord> {
  const job = await requireJob(trx, id);
  if (job.state !== "created" && job.state !== "retry" && job.state !== "active") {
    throw new JobActionError("not_cancellable", `job ${id} is ${job.state}; only waiting or running jobs can be cancelled`, job.state);
  }
  await boss.cancel(job.type, id);
  return afterChange(trx, id, job.state);
}

/**
 * Runs a dead-lettered job again: the original if pg-boss still keeps it, otherwise a new job with
 * the same payload (its original was deleted by retention). Returns the id that will run.
 */
export async function retryDeadLetter(trx: OrgTransaction, boss: PgBoss, jobs: JobClient, deadLetterJobId: string): Promise<string> {
  const { rows } = await sql<{ queue: string; job_id: string; payload: unknown }>`
    SELECT queue, job_id, payload FROM app.dead_letters
    WHERE dead_letter_job_id = ${deadLetterJobId} AND dead_letter_queue = ANY(${deadLetterQueues}::text[])
  `.execute(trx);
  const entry = rows[0];
  if (!entry) throw new JobActionError("job_not_found", `no failed job ${deadLetterJobId} in this organisation`);
  const original = await jobGetForOrg(trx, entry.job_id);
  if (original?.state === "failed") return (await retryJob(trx, boss, entry.job_id)).id;
  const { id } = await jobs.enqueue(trx, entry.queue, entry.payload);
  await dropDeadLetterCopies(trx, boss, entry.job_id);
  return id;
}

/** Retries up to `limit` dead-lettered jobs of one type; returns how many were started again. */
export async function retryDeadLettersOfType(
  trx: OrgTransaction,
  boss: PgBoss,
  jobs: JobClient,
  type: string,
  limit: number,
): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    SELECT dead_letter_job_id AS id FROM app.dead_letters
    WHERE queue = ${type} AND dead_letter_queue = ANY(${deadLetterQueues}::text[])
    ORDER BY failed_at LIMIT ${limit}
  `.execute(trx);
  for (const row of rows) await retryDeadLetter(trx, boss, jobs, row.id);
  return rows.length;
}
