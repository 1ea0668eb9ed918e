import { sql } from "kysely";
import { workerInstancesAlive } from "../../../core/jobs/worker-instances.ts";
import { getPlatform } from "./platform.server.ts";

export interface WebHealth {
  ready: boolean;
  status: "ok" | "degraded" | "down";
  checks: Record<string, { ok: boolean; detail: string }>;
}

/**
 * The web app's dependencies: the database (required), Redis when configured (a cache: degraded
 * without it), and whether any worker is alive (jobs would wait: degraded).
 */
export async function webHealth(): Promise<WebHealth> {
  const { db, redis } = await getPlatform();
  const checks: WebHealth["checks"] = {};
  try {
    await sql`SELECT 1`.execute(db.owner);
    checks.database = { ok: true, detail: "answers" };
    const workers = await workerInstancesAlive(db.owner, 30);
    checks.workers = { ok: workers.length > 0, detail: `${workers.length} alive` };
  } catch (error) {
    checks.database = { ok: false, detail: (error as Error).message };
  }
  if (redis) {
    try {
      await redis.ping();
      checks.redis = { ok: true, detail: "answers" };
    } catch (error) {
      checks.redis = { ok: false, detail: (error as Error).message };
    }
  }
  const ready = checks.database.ok;
  const allOk = Object.values(checks).every((c) => c.ok);
  return { ready, status: !ready ? "down" : allOk ? "ok" : "degraded", checks };
}
