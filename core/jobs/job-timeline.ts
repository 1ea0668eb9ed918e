import type { FailedAttempt } from "./job-attempts.ts";
import { attemptsStarted, type JobRecord } from "./job-queries.ts";
import type { JobSnoozeRecord } from "./job-snoozes.ts";

/** One line of a job's attempts timeline, oldest first. */
export interface TimelineEntry {
  at: Date | null;
  kind: "created" | "snoozed" | "failed" | "lost" | "running" | "completed" | "cancelled" | "due";
  attempt: number | null;
  text: string;
}

/**
 * A job's life from what pg-boss keeps (its current row) and what the worker recorded of each
 * failed attempt and each snooze. An attempt with no record was cut short without a failure being
 * written (its worker stopped or lost its claim, and supervision sent the job back to the queue).
 */
export function jobTimeline(job: JobRecord, failures: readonly FailedAttempt[], snoozes: readonly JobSnoozeRecord[] = []): TimelineEntry[] {
  return withSnoozes(attemptsTimeline(job, failures), snoozes);
}

function attemptsTimeline(job: JobRecord, failures: readonly FailedAttempt[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ at: job.createdAt, kind: "created", attempt: null, text: "Created" }];
  const attemptsMade = attemptsStarted(job);
  const byAttempt = new Map(failures.map((f) => [f.attempt, f]));
  for (let attempt = 1; attempt <= attemptsMade; attempt++) {
    const failure = byAttempt.get(attempt);
    const last = attempt === attemptsMade;
    if (failure) {
      const ending = failure.final ? "; no retries left, sent to the dead-letter queue" : "";
      entries.push({
        at: failure.failedAt,
        kind: "failed",
        attempt,
        text: `Attempt ${attempt} failed after ${failure.runMs} ms: ${failure.message}${ending}`,
      });
    } else if (last && job.state === "active") {
      entries.push({ at: job.startedAt, kind: "running", attempt, text: `Attempt ${attempt} running` });
    } else if (last && job.state === "completed") {
      entries.push({ at: job.completedAt, kind: "completed", attempt, text: `Attempt ${attempt} completed` });
    } else if (last && job.state === "failed") {
      // Failed without a worker's record: pg-boss's supervisor expired the attempt after its last try.
      entries.push({
        at: job.completedAt,
        kind: "failed",
        attempt,
        text: `Attempt ${attempt} failed: ${errorMessage(job.output)}; no retries left`,
      });
    } else if (!(last && job.state === "cancelled")) {
      entries.push({
        at: null,
        kind: "lost",
        attempt,
        text: `Attempt ${attempt} did not finish (its worker stopped or lost the job); the job was sent back to the queue`,
      });
    }
  }
  if (job.state === "cancelled") entries.push({ at: job.completedAt, kind: "cancelled", attempt: null, text: "Cancelled" });
  if (job.state === "created" || job.state === "retry") {
    entries.push({ at: job.startAfter, kind: "due", attempt: attemptsMade + 1, text: `Attempt ${attemptsMade + 1} due` });
  }
  return entries;
}

/** Each snooze goes before the first entry of its attempt or a later one: it happened before that attempt ended. */
function withSnoozes(entries: TimelineEntry[], snoozes: readonly JobSnoozeRecord[]): TimelineEntry[] {
  if (snoozes.length === 0) return entries;
  const result: TimelineEntry[] = [];
  const pending = [...snoozes].sort((a, b) => a.n - b.n);
  for (const entry of entries) {
    while (pending.length > 0 && entry.attempt !== null && pending[0]!.attempt <= entry.attempt) result.push(snoozeEntry(pending.shift()!));
    result.push(entry);
  }
  for (const snooze of pending) result.push(snoozeEntry(snooze));
  return result;
}

function snoozeEntry(snooze: JobSnoozeRecord): TimelineEntry {
  const seconds = Math.max(0, (snooze.until.getTime() - snooze.snoozedAt.getTime()) / 1000);
  const who = snooze.kind === "rate-limit" ? "held back" : "snoozed by its handler";
  return {
    at: snooze.snoozedAt,
    kind: "snoozed",
    attempt: snooze.attempt,
    text: `Attempt ${snooze.attempt} ${who} for ${formatSeconds(seconds)}, not spent: ${snooze.reason}`,
  };
}

function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

function errorMessage(output: unknown): string {
  const message = (output as { message?: unknown } | null)?.message;
  return typeof message === "string" && message !== "" ? message : "no error was recorded";
}
