import { PgBoss } from "pg-boss";

/** pg-boss lives in its own schema, which our migrations read but never alter. */
export const QUEUE_SCHEMA = "pgboss";

/**
 * pg-boss's NOTIFY channel for QUEUE_SCHEMA, as an SQL expression; the payload is the queue name.
 * The expression itself (plans.notifyChannelSql in 12.35) is written once, in
 * ops.queue_notify_channel() (migrations/0006), which SQL enqueue uses too; test/worker/job-sql.test.ts
 * checks that pg-boss's own send() notifies on it.
 */
export function notifyChannelSql(): string {
  return "ops.queue_notify_channel()";
}

export interface QueueEngineOptions {
  url: string;
  applicationName: string;
  /** Connections for pg-boss itself: supervision, failure settling, heartbeats, the API's retry and cancel. */
  maxConnections: number;
  /** How often dead workers' jobs (stale heartbeat, expiry) are detected and retried, and queue counts refreshed. */
  superviseIntervalSeconds: number;
  /** Background duties (maintenance, supervision, cron) run only in processes that work jobs. */
  runsMaintenance: boolean;
}

/**
 * Creates the pg-boss instance with the platform's settings. Not started: the caller decides
 * when (the worker after its plugins are ready, scripts around one command).
 */
export function createQueueEngine(options: QueueEngineOptions): PgBoss {
  return new PgBoss({
    connectionString: options.url,
    schema: QUEUE_SCHEMA,
    application_name: options.applicationName,
    max: options.maxConnections,
    // pg-boss's own listener only wakes boss.work() loops; the worker's runner holds its own LISTEN
    // connection (worker/runner/queue-listener.ts). Inserts still NOTIFY for queues with notify: true.
    useListenNotify: false,
    supervise: options.runsMaintenance,
    schedule: options.runsMaintenance,
    superviseIntervalSeconds: options.superviseIntervalSeconds,
    monitorIntervalSeconds: options.superviseIntervalSeconds,
    migrate: true,
  });
}

/**
 * Runs `work` with a started engine that does no background duties, then stops it: for scripts
 * and release steps that only install the schema, create queues or send jobs.
 */
export async function withQueueEngine<T>(url: string, work: (boss: PgBoss) => Promise<T>): Promise<T> {
  const boss = createQueueEngine({
    url,
    applicationName: "gpt-platform:release",
    maxConnections: 2,
    superviseIntervalSeconds: 60,
    runsMaintenance: false,
  });
  boss.on("error", () => {}); // start() and the calls below reject with the same errors
  await boss.start(); // installs or upgrades pg-boss's schema (migrate: true)
  try {
    return await work(boss);
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
}
