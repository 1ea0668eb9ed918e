import * as Sentry from "@sentry/node";
import { scrubSecrets } from "../logging/scrub-secrets.ts";

/**
 * Error reporting to Sentry when SENTRY_DSN is configured; every function is a no-op otherwise,
 * so callers never branch on configuration.
 */

let enabled = false;

export interface SentryOptions {
  dsn: string | undefined;
  environment: string;
  release: string;
  serverName: string;
}

export function initSentry(options: SentryOptions): boolean {
  if (!options.dsn || enabled) return enabled;
  Sentry.init({
    dsn: options.dsn,
    environment: options.environment,
    release: options.release,
    serverName: options.serverName,
    tracesSampleRate: 0,
    // The same scrubbing as the logs: an error's text may quote a credential.
    beforeSend(event) {
      for (const exception of event.exception?.values ?? []) {
        if (exception.value) exception.value = scrubSecrets(exception.value);
      }
      if (event.message) event.message = scrubSecrets(event.message);
      return event;
    },
  });
  enabled = true;
  return true;
}

export interface JobFailureContext {
  queue: string;
  jobId: string;
  orgId: string | null;
  attempt: number;
}

/** A job failed for the last time (dead-lettered): tag it so Sentry groups and filters by queue and tenant. */
export function reportFinalJobFailure(error: Error, context: JobFailureContext): void {
  if (!enabled) return;
  Sentry.captureException(error, {
    tags: { queue: context.queue, job_id: context.jobId, org_id: context.orgId ?? "none" },
    extra: { attempt: context.attempt },
    level: "error",
  });
}

export function reportError(error: unknown, tags: Record<string, string> = {}): void {
  if (!enabled) return;
  Sentry.captureException(error, { tags });
}

/** Sends what is queued; call before exit so the last reports are not lost. */
export async function flushSentry(timeoutMs: number): Promise<void> {
  if (enabled) await Sentry.flush(timeoutMs);
}
