import { retryAfterSeconds } from "../../core/jobs/rate-limits.ts";
import type { testUpstreamCall } from "../../core/jobs/types/test-upstream-call.ts";
import { PermanentJobError, type JobHandler } from "./job-handler.ts";

/** Longest one request may take before the attempt fails (and is retried). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Kommo's 429 carries no Retry-After: wait about one of its seconds. */
const DEFAULT_SNOOZE_SECONDS = 1;

export function createTestUpstreamCallHandler(upstreamUrl: string | undefined): JobHandler<typeof testUpstreamCall> {
  return async (payload, context) => {
    if (!upstreamUrl) throw new PermanentJobError("this worker has no TEST_UPSTREAM_URL, so test-upstream-call jobs cannot run here");
    const requestedAt = Date.now();
    const response = await fetch(new URL("/api/v4/account", upstreamUrl), {
      headers: { accept: "application/hal+json", "x-account-id": payload.accountId, "x-job-id": context.jobId },
      signal: AbortSignal.any([context.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    await response.arrayBuffer();
    if (response.status === 429) {
      context.snooze(retryAfterSeconds(response.headers.get("retry-after")) ?? DEFAULT_SNOOZE_SECONDS, {
        reason: "the upstream answered 429 Too Many Requests",
        rateLimited: true,
      });
    }
    if (response.status >= 500) throw new Error(`the upstream answered ${response.status}`);
    if (!response.ok) throw new PermanentJobError(`the upstream refused the request: ${response.status}`);
    return { echo: payload.echo, accountId: payload.accountId, status: response.status, requestedAt };
  };
}
