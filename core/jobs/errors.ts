import type { z } from "zod";

/** One problem with one field of a payload, addressed by its path (e.g. "payload.delayMs"). */
export interface FieldProblem {
  field: string;
  message: string;
}

export class UnknownJobTypeError extends Error {
  readonly type: string;
  readonly knownTypes: readonly string[];

  constructor(type: string, knownTypes: readonly string[]) {
    super(`unknown job type "${type}"; known types: ${knownTypes.join(", ")}`);
    this.name = "UnknownJobTypeError";
    this.type = type;
    this.knownTypes = knownTypes;
  }
}

export class PayloadInvalidError extends Error {
  readonly type: string;
  readonly problems: readonly FieldProblem[];

  constructor(type: string, problems: readonly FieldProblem[]) {
    super(`payload for ${type} is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.name = "PayloadInvalidError";
    this.type = type;
    this.problems = problems;
  }
}

/** Raised when a queue's policy (singleton, short, ...) refuses the job because a twin is already queued. */
export class JobNotQueuedError extends Error {
  readonly type: string;

  constructor(type: string, reason: string) {
    super(`job of type ${type} was not queued: ${reason}`);
    this.name = "JobNotQueuedError";
    this.type = type;
  }
}

/** An idempotency key was sent again with a different payload: almost always a client bug. */
export class IdempotencyConflictError extends Error {
  readonly jobId: string;

  constructor(jobId: string) {
    super(`this idempotency key already created job ${jobId} with a different payload; use a new key for a different job`);
    this.name = "IdempotencyConflictError";
    this.jobId = jobId;
  }
}

/**
 * Flattens zod issues into one problem per field, each path prefixed (e.g. "payload"). An unknown
 * key becomes a problem on that key, so the caller sees which field to remove.
 */
export function fieldProblems(issues: readonly z.core.$ZodIssue[], prefix: string): FieldProblem[] {
  const join = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join(".");
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ field: join([...issue.path, key]), message: "is not a known field" }))
      : [{ field: join(issue.path), message: issue.message }],
  );
}
