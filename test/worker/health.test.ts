import { sql } from "kysely";
import t from "tap";
import { createTestDatabase } from "../helpers/database.ts";
import { testEnv } from "../helpers/test-env.ts";
import { startWorkerApp } from "../helpers/worker.ts";

t.test("liveness and readiness", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url, { env: { REDIS_URL: testEnv.redisUrl } });

  const live = await app.inject({ url: "/health" });
  t.equal(live.statusCode, 200);
  t.match(live.json(), { status: "ok", service: "gpt-platform-worker", uptimeSeconds: Number });

  const ready = await app.inject({ url: "/health/ready" });
  t.equal(ready.statusCode, 200);
  t.match(ready.json(), {
    status: "ready",
    checks: { database: { ok: true }, queueEngine: { ok: true }, migrations: { ok: true }, redis: { ok: true } },
  });

  await sql`DELETE FROM ops.schema_migrations WHERE version = (SELECT max(version) FROM ops.schema_migrations)`.execute(db.handles.owner);
  const behind = await app.inject({ url: "/health/ready" });
  t.equal(behind.statusCode, 503);
  t.match(behind.json(), {
    status: "not_ready",
    reason: /migrations: database is at migration \d+, this code expects \d+: run npm run migrate/,
  });
});

t.test("an unreachable Redis (a cache) degrades readiness without failing it", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url, { env: { REDIS_URL: "redis://127.0.0.1:1" } });
  const ready = await app.inject({ url: "/health/ready" });
  t.equal(ready.statusCode, 200);
  t.match(ready.json(), { status: "degraded", degraded: /redis:/, checks: { redis: { ok: false, optional: true } } });
  const live = await app.inject({ url: "/health" });
  t.equal(live.statusCode, 200, "liveness does not depend on Redis");
});

t.test("readiness fails while shutting down", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url);
  app.service.shuttingDown = true;
  const ready = await app.inject({ url: "/health/ready" });
  t.equal(ready.statusCode, 503);
  t.match(ready.json().reason, /shutting down/);
  app.service.shuttingDown = false;
});
