import type { PgBoss, Queue } from "pg-boss";
import { jobCatalogue } from "./catalogue.ts";
import type { JobType } from "./define-job.ts";

/** Dead-lettered jobs wait here for a person: long enough to notice, investigate and retry. */
const DEAD_LETTER_RETENTION_SECONDS = 30 * 24 * 60 * 60;

type QueueOptions = Omit<Queue, "name">;

/** The pg-boss queue options a job type's settings translate to. */
export function queueOptionsFor(job: JobType): QueueOptions {
  const q = job.queue;
  return {
    policy: q.policy,
    retryLimit: q.retryLimit,
    retryDelay: q.retryDelaySeconds,
    retryBackoff: q.retryBackoff,
    retryDelayMax: q.retryDelayMaxSeconds,
    expireInSeconds: q.expireInSeconds,
    ...(q.heartbeatSeconds === null ? {} : { heartbeatSeconds: q.heartbeatSeconds }),
    retentionSeconds: q.retentionSeconds,
    deleteAfterSeconds: q.deleteAfterSeconds,
    deadLetter: job.deadLetterQueue,
    notify: q.notify,
  };
}

function deadLetterOptions(): QueueOptions {
  return {
    policy: "standard",
    retryLimit: 0,
    retentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
    deleteAfterSeconds: DEAD_LETTER_RETENTION_SECONDS,
    notify: false,
  };
}

export class QueueConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueueConfigurationError";
  }
}

/**
 * Creates each job type's queue and dead-letter queue, or brings an existing queue's settings in
 * line with the catalogue. Safe to run from many replicas at once: pg-boss creates queues under an
 * advisory lock with ON CONFLICT DO NOTHING, and the updates write the same values.
 */
export async function ensureQueues(boss: PgBoss, jobs: readonly JobType[] = jobCatalogue): Promise<void> {
  for (const job of jobs) {
    await createOrUpdate(boss, job.deadLetterQueue, deadLetterOptions());
    await createOrUpdate(boss, job.name, queueOptionsFor(job));
  }
}

async function createOrUpdate(boss: PgBoss, name: string, options: QueueOptions): Promise<void> {
  await boss.createQueue(name, options);
  const existing = await boss.getQueue(name);
  if (!existing) throw new QueueConfigurationError(`queue ${name} was created but cannot be read back`);
  const wantedPolicy = options.policy ?? "standard";
  if (existing.policy !== wantedPolicy) {
    // pg-boss cannot change a policy in place; it decides which uniqueness indexes apply to rows.
    throw new QueueConfigurationError(
      `queue ${name} has policy "${existing.policy}" in the database but the catalogue says "${wantedPolicy}". ` +
        "A queue's policy cannot change in place: drain the queue, delete it (boss.deleteQueue) and start the worker again.",
    );
  }
  const { policy: _policy, partition: _partition, ...updatable } = options;
  await boss.updateQueue(name, { ...updatable, heartbeatSeconds: options.heartbeatSeconds ?? null });
}
