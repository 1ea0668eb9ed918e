import { sql } from "kysely";
import { workerInstancesAlive } from "../../../core/jobs/worker-instances.ts";
import { getPlatform, type Platform } from "./platform.server.ts";

export interface WebHealth {
  ready: boolean;
  status: "ok" | "degraded" | "down";
  checks: Record<string, { ok: boolean; detail: string }>;
}

/** Seconds without a heartbeat after which a worker counts as gone (they beat every 10 s). */
const WORKER_SILENCE_SECONDS = 30;

/**
 * The web app's dependencies: the database (required), Redis when configured (a cache: degraded
 * without it), and whether any worker is alive (jobs would wait: degraded). Anyone can call the
 * health routes, so failures are described in a few words; the log has the full error.
 */
export async function webHealth(): Promise<WebHealth> {
  let platform: Platform;
  try {
    platform = await getPlatform();
  } catch {
    return {
      ready: false,
      status: "down",
      checks: { database: { ok: false, detail: "unreachable (the web app could not start its connections)" } },
    };
  }
  const { db, redis, log } = platform;
  const checks: WebHealth["checks"] = {};
  try {
    await sql`SELECT 1`.execute(db.owner);
    checks.database = { ok: true, detail: "answers" };
    const workers = await workerInstancesAlive(db.owner, WORKER_SILENCE_SECONDS);
    checks.workers = {
      ok: workers.length > 0,
      detail: workers.length > 0 ? `${workers.length} alive` : `none seen in ${WORKER_SILENCE_SECONDS} s: jobs wait until one starts`,
    };
  } catch (error) {
    log.warn({ err: error }, "health: database check failed");
    checks.database = { ok: false, detail: "unreachable" };
  }
  if (redis) {
    try {
      await redis.ping();
      checks.redis = { ok: true, detail: "answers" };
    } catch (error) {
      log.warn({ err: error }, "health: Redis check failed");
      checks.redis = { ok: false, detail: "unreachable (sign-in limits fall back to Postgres)" };
    }
  }
  const ready = checks.database!.ok;
  const allOk = Object.values(checks).every((c) => c.ok);
  return { ready, status: !ready ? "down" : allOk ? "ok" : "degraded", checks };
}
