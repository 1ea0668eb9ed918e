import type { FastifyBaseLogger } from "fastify";
import type { AppDatabase } from "../../core/db/connect.ts";
import { isUuid, withOrg } from "../../core/db/org-scope.ts";
import type { JobClient } from "../../core/jobs/enqueue.ts";
import { fieldProblems } from "../../core/jobs/errors.ts";
import type { RegisteredHandler } from "../handlers/index.ts";
import { JobSnooze, PermanentJobError, type JobContext } from "../handlers/job-handler.ts";
import type { ClaimedJob } from "./job-sql.ts";

/** Longest stack kept with a failed job; the top frames are the useful ones. */
const MAX_STACK_CHARS = 8000;

export interface RunJobDeps {
  appDb: AppDatabase;
  jobs: JobClient;
  log: FastifyBaseLogger;
}

export type AttemptResult =
  /** `output` is the result already serialised as JSON. */
  | { status: "completed"; output: string; runMs: number }
  | { status: "failed"; permanent: boolean; error: Error; output: Record<string, unknown>; runMs: number }
  /** The handler asked to run again in `seconds` (ctx.snooze): no attempt is spent. */
  | { status: "snoozed"; seconds: number; reason: string; rateLimited: boolean; runMs: number };

/**
 * One attempt of one job: check the payload (jobs can be written by older code or by hand from
 * psql), run the handler with the job's context, serialise its result. Never throws: a failure
 * comes back as a result, permanent when another attempt cannot help.
 */
export async function runJob(
  entry: RegisteredHandler,
  job: ClaimedJob,
  signal: () => AbortSignal,
  deps: RunJobDeps,
): Promise<AttemptResult> {
  const started = performance.now();
  const queue = entry.type.name;
  const attempt = job.retry_count + 1;
  try {
    const parsed = entry.type.payload.safeParse(job.data);
    if (!parsed.success) {
      throw new PermanentJobError(`payload does not match the ${queue} schema`, {
        problems: fieldProblems(parsed.error.issues, "payload"),
      });
    }
    const orgId = job.group_id;
    if (!isUuid(orgId)) {
      throw new PermanentJobError("job carries no organisation id (pg-boss group id); send jobs through enqueue()");
    }
    let childLog: FastifyBaseLogger | undefined;
    const context: JobContext = {
      jobId: job.id,
      type: queue,
      orgId,
      attempt,
      get signal() {
        return signal();
      },
      get log() {
        childLog ??= deps.log.child({ queue, jobId: job.id, orgId, attempt });
        return childLog;
      },
      withOrg: (work) => withOrg(deps.appDb, orgId, work),
      jobs: deps.jobs,
      snooze: (seconds, options) => {
        throw new JobSnooze(seconds, options?.reason ?? `the handler snoozed for ${seconds} s`, options?.rateLimited ?? false);
      },
    };
    const result = await entry.handler(parsed.data, context);
    // Serialised here, per job: a result JSON cannot carry (a BigInt, a cycle) fails this job only,
    // instead of the statement that completes the whole batch. The result's shape is the handler's
    // TypeScript return type, checked at compile time.
    let output: string | undefined;
    try {
      output = JSON.stringify(result);
    } catch (error) {
      throw new PermanentJobError(`handler returned a result that cannot be stored as JSON: ${(error as Error).message}`);
    }
    return { status: "completed", output: output ?? "null", runMs: performance.now() - started };
  } catch (thrown) {
    const runMs = performance.now() - started;
    if (thrown instanceof JobSnooze) {
      return { status: "snoozed", seconds: thrown.seconds, reason: thrown.message, rateLimited: thrown.rateLimited, runMs };
    }
    return failedAttempt(thrown instanceof Error ? thrown : new Error(String(thrown)), attempt, runMs);
  }
}

/** A failed attempt's result; the job's output keeps the error, its stack and any details. */
export function failedAttempt(error: Error, attempt: number, runMs: number): Extract<AttemptResult, { status: "failed" }> {
  const permanent = error instanceof PermanentJobError;
  return {
    status: "failed",
    permanent,
    error,
    runMs,
    output: {
      name: error.name,
      message: error.message,
      stack: error.stack?.slice(0, MAX_STACK_CHARS),
      attempt,
      ...(permanent && error.details ? { details: error.details } : {}),
    },
  };
}
