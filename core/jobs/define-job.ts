import type { z } from "zod";
import { rateLimitProblems, type RateLimit } from "./rate-limits.ts";

/**
 * How a job type's queue behaves. Every job sent to the queue inherits these settings when it is
 * inserted (pg-boss copies them onto the row), so changing them affects jobs sent afterwards.
 */
export interface QueueSettings {
  /** Attempts after the first before the job fails for good (and goes to the dead-letter queue). */
  retryLimit: number;
  /** Delay before the first retry; with backoff it doubles each attempt (with jitter). */
  retryDelaySeconds: number;
  retryBackoff: boolean;
  /** Cap on the backoff delay. */
  retryDelayMaxSeconds: number;
  /** Longest a single attempt may run before it is failed and retried. */
  expireInSeconds: number;
  /**
   * When set, a worker refreshes each running job this often (half the interval); a job whose
   * worker died is retried elsewhere once its heartbeat is this stale. Must be at least 10.
   */
  heartbeatSeconds: number | null;
  /** How long a job may wait to start before it is deleted unrun. */
  retentionSeconds: number;
  /** How long a finished job (and its result) is kept. */
  deleteAfterSeconds: number;
  /**
   * pg-boss queue policy: standard; short (at most one queued job per singleton key); exclusive (at
   * most one queued or running per key). singleton and stately need ranking the worker's fetch
   * loops do not do yet (docs/decisions/004), so they are not offered.
   */
  policy: "standard" | "short" | "exclusive";
  /** Wake idle workers with NOTIFY when a job is sent (milliseconds instead of a poll interval). */
  notify: boolean;
}

export interface WorkerSettings {
  /**
   * Most jobs one claim may take. The runner claims fewer when the type's jobs are slow: only
   * the free handler slots plus what they will start within about 100 ms (worker/runner/claim-sizing.ts).
   */
  batchSize: number;
  /**
   * How many times one job may snooze itself (ctx.snooze, an upstream's 429) before it fails with
   * the last reason. Waits for the type's own rate limits are not counted: the platform paces those.
   */
  maxSnoozes: number;
}

export interface JobTypeDefinition<N extends string, P extends z.ZodType, R extends z.ZodType> {
  /** Stable identifier and queue name: lowercase words joined by hyphens. Never rename a live type. */
  name: N;
  description: string;
  payload: P;
  result: R;
  queue?: Partial<QueueSettings>;
  worker?: Partial<WorkerSettings>;
  /** Budgets a job must fit before it starts (core/jobs/rate-limits.ts); a job over budget waits without spending an attempt. */
  rateLimits?: RateLimit[];
}

export interface JobType<N extends string = string, P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  name: N;
  description: string;
  payload: P;
  result: R;
  queue: QueueSettings;
  worker: WorkerSettings;
  rateLimits: readonly RateLimit[];
  /** Where jobs that failed for the last time are copied, with their error. */
  deadLetterQueue: string;
}

export type PayloadOf<J extends JobType> = z.output<J["payload"]>;
export type ResultOf<J extends JobType> = z.output<J["result"]>;

const DAY = 24 * 60 * 60;

const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  retryLimit: 3,
  retryDelaySeconds: 5,
  retryBackoff: true,
  retryDelayMaxSeconds: 10 * 60,
  expireInSeconds: 15 * 60,
  heartbeatSeconds: 30,
  retentionSeconds: 14 * DAY,
  deleteAfterSeconds: 7 * DAY,
  policy: "standard",
  notify: true,
};

const DEFAULT_WORKER_SETTINGS: WorkerSettings = { batchSize: 20, maxSnoozes: 10 };

export function defineJob<N extends string, P extends z.ZodType, R extends z.ZodType>(
  definition: JobTypeDefinition<N, P, R>,
): JobType<N, P, R> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(definition.name) || definition.name.length > 40) {
    throw new Error(`job type name "${definition.name}" must be lowercase words joined by hyphens, at most 40 characters`);
  }
  const queue = { ...DEFAULT_QUEUE_SETTINGS, ...definition.queue };
  if (queue.heartbeatSeconds !== null && queue.heartbeatSeconds < 10) {
    throw new Error(`job type ${definition.name}: heartbeatSeconds must be at least 10 (pg-boss minimum) or null`);
  }
  const rateLimits = definition.rateLimits ?? [];
  const problems = rateLimitProblems(rateLimits);
  if (problems.length > 0) throw new Error(`job type ${definition.name}: ${problems.join("; ")}`);
  return {
    name: definition.name,
    description: definition.description,
    payload: definition.payload,
    result: definition.result,
    queue,
    worker: { ...DEFAULT_WORKER_SETTINGS, ...definition.worker },
    rateLimits,
    deadLetterQueue: `${definition.name}.dlq`,
  };
}
