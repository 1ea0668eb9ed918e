import { z } from "zod";
import { defineJob } from "../define-job.ts";

/**
 * One request to the worker's test upstream (TEST_UPSTREAM_URL, never a URL from the payload),
 * under a rate limit shaped like Kommo's: 7 requests a second per account. For the rate-limit
 * tests and benchmark, and for operators checking that a deployment paces its calls.
 */
export const testUpstreamCall = defineJob({
  name: "test-upstream-call",
  description: "Calls the worker's test upstream once, at most 7 times a second per account; snoozes on its 429.",
  payload: z.strictObject({
    accountId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "must be 1 to 64 letters, digits, '_' or '-'" })
      .describe("The upstream account: jobs of one account share its 7 requests a second."),
    echo: z.unknown().optional().describe("Any JSON value, returned unchanged in the result."),
  }),
  result: z.object({
    echo: z.unknown().optional(),
    accountId: z.string(),
    status: z.int().describe("The upstream's HTTP status."),
    requestedAt: z.number().describe("When the request was sent, epoch ms by the worker's clock."),
  }),
  queue: { retryLimit: 2, retryDelaySeconds: 1, heartbeatSeconds: 10, deleteAfterSeconds: 24 * 60 * 60 },
  rateLimits: [{ key: "test-upstream:{accountId}", limit: 7, perSeconds: 1 }],
});
