import type { JobType } from "./define-job.ts";
import { testJob } from "./types/test-job.ts";
import { testUpstreamCall } from "./types/test-upstream-call.ts";

/**
 * Every job type the platform knows. Adding a type: a module in core/jobs/types/ (name, payload
 * schema, result schema, queue settings), an entry here, and its handler in worker/handlers/.
 */
export const jobCatalogue = [testJob, testUpstreamCall] as const;

export type CatalogueJobType = (typeof jobCatalogue)[number];
export type JobTypeName = CatalogueJobType["name"];
export type JobTypeByName<N extends JobTypeName> = Extract<CatalogueJobType, { name: N }>;

const byName = new Map<string, JobType>(jobCatalogue.map((job) => [job.name, job]));

export function findJobType(name: string): JobType | undefined {
  return byName.get(name);
}

export function jobTypeNames(): string[] {
  return [...byName.keys()];
}

/** Every queue the catalogue owns, dead-letter queues included: what a job id lookup searches. */
export function allQueueNames(): string[] {
  return jobCatalogue.flatMap((job) => [job.name, job.deadLetterQueue]);
}
