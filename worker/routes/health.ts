import { monitorEventLoopDelay } from "node:perf_hooks";
import type { FastifyInstance } from "fastify";
import { appliedVersion } from "../../core/db/migrator.ts";

const CHECK_TIMEOUT_MS = 2000;

interface Check {
  ok: boolean;
  detail?: string;
  ms?: number;
  /** A failing optional check degrades the instance but keeps it in rotation. */
  optional?: boolean;
}

async function timed(work: () => Promise<string | void>): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started), ...(detail ? { detail } : {}) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /health answers from memory (is the process alive and its event loop moving); /health/ready asks
 * the dependencies (database, queue engine, schema version; Redis when configured, as optional) and
 * answers 503 with the reason when this instance should not get traffic.
 */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  app.addHook("onClose", async () => loopDelay.disable());

  app.get("/health", async () => {
    const p99Ms = loopDelay.percentile(99) / 1e6;
    loopDelay.reset();
    const memory = process.memoryUsage();
    return {
      status: "ok",
      service: app.service.name,
      version: app.service.version,
      instanceId: app.service.instanceId,
      uptimeSeconds: Math.round((Date.now() - app.service.startedAt) / 1000),
      eventLoopDelayP99Ms: Math.round(p99Ms * 10) / 10,
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    };
  });

  app.get("/health/ready", async (_request, reply) => {
    const { service } = app;
    const checks: Record<string, Check> = {};
    if (service.shuttingDown) {
      checks.lifecycle = { ok: false, detail: "shutting down" };
    } else {
      const pool = app.db.ownerPool;
      checks.database = await timed(async () => {
        await pool.query("SELECT 1");
      });
      checks.queueEngine = { ok: service.engineStarted, detail: service.engineStarted ? "started" : "not started" };
      checks.migrations = await timed(async () => {
        const applied = await appliedVersion(pool);
        if (applied !== service.expectedMigration) {
          throw new Error(`database is at migration ${applied}, this code expects ${service.expectedMigration}: run npm run migrate`);
        }
        return `at ${applied}`;
      });
      if (app.config.REDIS_URL) {
        // Redis is a cache: without it rate limits use Postgres, so it degrades readiness but never fails it.
        checks.redis = { ...(await timed(async () => void (await app.limits.ping()))), optional: true };
      }
    }
    const failing = Object.entries(checks).filter(([, c]) => !c.ok && !c.optional);
    const degraded = Object.entries(checks).filter(([, c]) => !c.ok && c.optional);
    const describe = (list: [string, Check][]) => list.map(([name, c]) => `${name}: ${c.detail}`).join("; ");
    const body = {
      status: failing.length > 0 ? "not_ready" : degraded.length > 0 ? "degraded" : "ready",
      ...(failing.length > 0 ? { reason: describe(failing) } : {}),
      ...(degraded.length > 0 ? { degraded: describe(degraded) } : {}),
      checks,
    };
    return reply.code(failing.length === 0 ? 200 : 503).send(body);
  });
}
