import { sql } from "kysely";
import t from "tap";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { startWorkerApp } from "../helpers/worker.ts";
import { warmAppConnections } from "../../core/jobs/warm-up.ts";

t.test("before serving, the worker opens and warms its app connections and writes nothing", async (t) => {
  const db = await createTestDatabase(t);
  await createOrganisation(db);
  const app = await startWorkerApp(t, db.url);
  const warm = warmAppConnections(app.config.DATABASE_POOL_MAX);
  t.ok(warm >= 2, "several connections are warmed");
  t.equal(app.db.appPool.totalCount, warm, "the warmed app connections are open before the first request");
  const { rows: backends } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM pg_stat_activity
    WHERE datname = current_database() AND usename = 'gpt_app' AND state = 'idle' AND query = 'rollback'
  `.execute(db.handles.owner);
  t.equal(Number(backends[0]!.n), warm, "each ended with the warm-up transaction's rollback");
  const { rows: jobs } = await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job`.execute(db.handles.owner);
  t.equal(Number(jobs[0]!.n), 0, "the warm-up enqueue rolled back");
});
