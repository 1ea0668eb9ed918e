import { sql } from "kysely";
import type { Database, OwnerDatabase } from "../db/connect.ts";

/** Rows in ops.worker_instances: each worker process says it is alive every few seconds. */

export interface WorkerInstanceInfo {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  concurrency: number;
  jobTypes: string[];
}

export async function workerInstanceRegister(db: OwnerDatabase, info: WorkerInstanceInfo): Promise<void> {
  await db
    .insertInto("ops.worker_instances")
    .values({
      id: info.id,
      hostname: info.hostname,
      pid: info.pid,
      version: info.version,
      concurrency: info.concurrency,
      job_types: info.jobTypes,
    })
    .execute();
}

export async function workerInstanceTouch(db: OwnerDatabase, id: string): Promise<void> {
  await db.updateTable("ops.worker_instances").set({ last_seen_at: sql`now()` }).where("id", "=", id).execute();
}

export async function workerInstanceStopped(db: OwnerDatabase, id: string): Promise<void> {
  await db.updateTable("ops.worker_instances").set({ stopped_at: sql`now()`, last_seen_at: sql`now()` }).where("id", "=", id).execute();
}

/** Forgets instances that stopped or vanished long ago, so the table stays small. */
export async function workerInstancePrune(db: OwnerDatabase, olderThanDays: number): Promise<number> {
  const result = await db
    .deleteFrom("ops.worker_instances")
    .where("last_seen_at", "<", sql<Date>`now() - make_interval(days => ${olderThanDays})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function workerInstancesAlive(db: Database, seenWithinSeconds: number) {
  return db
    .selectFrom("ops.worker_instances")
    .selectAll()
    .where("stopped_at", "is", null)
    .where("last_seen_at", ">", sql<Date>`now() - make_interval(secs => ${seenWithinSeconds})`)
    .orderBy("started_at")
    .execute();
}
