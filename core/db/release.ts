import { publishJobCatalogue } from "../jobs/catalogue-publish.ts";
import { withQueueEngine } from "../jobs/engine.ts";
import { ensureQueues } from "../jobs/queues.ts";
import { migrate } from "./migrator.ts";

/**
 * Brings a database to what this code expects, in the order the pieces depend on each other:
 * pg-boss's schema (our migrations grant access to it and read it), our migrations, then the
 * queues of the job catalogue (so anything can enqueue before the first worker starts), and the
 * catalogue itself for SQL enqueue (ops.job_types).
 * This is `npm run migrate` and the Procfile's release step.
 */
export async function releaseDatabase(url: string, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  await withQueueEngine(url, async (boss) => {
    log(`queue engine: pg-boss schema version ${await boss.schemaVersion()} installed`);
  });
  const applied = await migrate(url, { log: (line) => log(`migrations: ${line}`) });
  log(applied.length === 0 ? "migrations: already current" : `migrations: applied ${applied.length}`);
  await withQueueEngine(url, async (boss) => {
    await ensureQueues(boss);
    log("queues: created or updated from the job catalogue");
  });
  await publishJobCatalogue(url);
  log("catalogue: published to ops.job_types for SQL enqueue");
  log(`release: done in ${Math.round(performance.now() - started)} ms`);
}
