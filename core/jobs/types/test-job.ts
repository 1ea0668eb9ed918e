import { z } from "zod";
import { defineJob } from "../define-job.ts";

/**
 * Echoes its payload and returns its sha256. Its knobs drive every path of the job system for
 * tests, benchmarks and operators checking a deployment: slow runs, failures on chosen attempts,
 * and (only where the worker enables it) a hard crash of the worker process.
 */
export const testJob = defineJob({
  name: "test-job",
  description: "Echoes its payload and returns its sha256; knobs for delay, failure and hard crash.",
  payload: z.strictObject({
    // Any JSON value. z.unknown() rather than z.json(): payloads arrive as JSON (API bodies, jsonb
    // rows) already, and z.json() walks every value, on every job, twice (payload and result).
    echo: z.unknown().optional().describe("Any JSON value, returned unchanged in the result."),
    delayMs: z.int().min(0).max(600_000).optional().describe("Sleep this long before finishing."),
    delayOnAttempts: z.int().min(1).max(1000).optional().describe("Only sleep on attempts 1..N (default: every attempt)."),
    failOnAttempts: z.int().min(1).max(1000).optional().describe("Throw on attempts 1..N; 1000 means always."),
    failMessage: z.string().max(2000).optional().describe("Message of the error thrown by failOnAttempts."),
    crashOnAttempts: z
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe("Kill the worker process (SIGKILL) on attempts 1..N. Ignored unless the worker sets TEST_JOB_CRASH_ENABLED."),
  }),
  result: z.object({
    echo: z.unknown().optional(),
    sha256: z.string().describe("sha256 of the JSON payload, hex."),
    attempt: z.int().describe("Which attempt produced this result, starting at 1."),
    startedAt: z.number().optional().describe("When the handler started this attempt, epoch ms by the worker's clock."),
    finishedAt: z.number().optional().describe("When the handler finished this attempt, epoch ms by the worker's clock."),
    pid: z.int().optional().describe("Process id of the worker that ran this attempt."),
  }),
  queue: {
    retryLimit: 2,
    retryDelaySeconds: 1,
    retryBackoff: true,
    retryDelayMaxSeconds: 10,
    heartbeatSeconds: 10,
    deleteAfterSeconds: 24 * 60 * 60,
  },
  worker: { batchSize: 400 },
});
