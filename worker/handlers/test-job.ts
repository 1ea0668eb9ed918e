import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { testJob } from "../../core/jobs/types/test-job.ts";
import { PermanentJobError, type JobHandler } from "./job-handler.ts";

export interface TestJobOptions {
  /** Whether crashOnAttempts may kill this process; off unless the operator opts in (TEST_JOB_CRASH_ENABLED). */
  crashEnabled: boolean;
}

export function createTestJobHandler(options: TestJobOptions): JobHandler<typeof testJob> {
  return async (payload, context) => {
    const startedAt = Date.now();
    const { attempt } = context;
    if (payload.crashOnAttempts !== undefined && attempt <= payload.crashOnAttempts) {
      if (!options.crashEnabled) {
        // Anyone who may send jobs could otherwise take workers down.
        throw new PermanentJobError("crashOnAttempts is refused: this worker does not set TEST_JOB_CRASH_ENABLED=true");
      }
      context.log.warn({ attempt }, "test-job: crashing this worker process as asked (crashOnAttempts)");
      process.kill(process.pid, "SIGKILL");
    }
    if (payload.delayMs && (payload.delayOnAttempts === undefined || attempt <= payload.delayOnAttempts)) {
      await sleep(payload.delayMs, undefined, { signal: context.signal });
    }
    if (payload.failOnAttempts !== undefined && attempt <= payload.failOnAttempts) {
      throw new Error(payload.failMessage ?? `test-job failed on attempt ${attempt} as asked (failOnAttempts: ${payload.failOnAttempts})`);
    }
    return {
      echo: payload.echo,
      sha256: createHash("sha256").update(JSON.stringify(payload)).digest("hex"),
      attempt,
      // For measuring the runner from outside: handlers at once, and the delay from a handler's end to its completed state.
      startedAt,
      finishedAt: Date.now(),
      pid: process.pid,
    };
  };
}
