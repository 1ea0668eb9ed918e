import type { WorkerConfig } from "../../core/config/worker-config.ts";
import { jobCatalogue } from "../../core/jobs/catalogue.ts";
import type { JobType } from "../../core/jobs/define-job.ts";
import { testJob } from "../../core/jobs/types/test-job.ts";
import { testUpstreamCall } from "../../core/jobs/types/test-upstream-call.ts";
import type { JobHandler } from "./job-handler.ts";
import { createTestJobHandler } from "./test-job.ts";
import { createTestUpstreamCallHandler } from "./test-upstream-call.ts";

export interface RegisteredHandler {
  type: JobType;
  handler: JobHandler<JobType>;
}

function register<J extends JobType>(type: J, handler: JobHandler<J>): RegisteredHandler {
  return { type, handler: handler as unknown as JobHandler<JobType> };
}

/** One handler per job type in the catalogue; a type without a handler stops the worker at start. */
export function createHandlers(config: WorkerConfig): Map<string, RegisteredHandler> {
  const handlers = new Map(
    [
      register(testJob, createTestJobHandler({ crashEnabled: config.TEST_JOB_CRASH_ENABLED })),
      register(testUpstreamCall, createTestUpstreamCallHandler(config.TEST_UPSTREAM_URL)),
    ].map((h) => [h.type.name, h]),
  );
  const missing = jobCatalogue.filter((job) => !handlers.has(job.name)).map((job) => job.name);
  if (missing.length > 0) throw new Error(`no handler registered for job type(s): ${missing.join(", ")} (worker/handlers/index.ts)`);
  return handlers;
}
