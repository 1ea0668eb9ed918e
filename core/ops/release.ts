import pg from "pg";
import { APP_ROLE, scramSha256Verifier } from "../db/app-role.ts";
import { migrate } from "../db/migrator.ts";
import { publishJobCatalogue } from "../jobs/catalogue-publish.ts";
import { withQueueEngine } from "../jobs/engine.ts";
import { ensureQueues } from "../jobs/queues.ts";

export interface ReleaseOptions {
  /** APP_DATABASE_PASSWORD: becomes gpt_app's password (as a SCRAM verifier). Unset: left as it is. */
  appPassword?: string;
}

/**
 * Brings a database to what this code expects, in the order the pieces depend on each other:
 * pg-boss's schema (our migrations grant access to it and read it), our migrations, the database
 * privileges no dump or template copy carries (migrations/0009), gpt_app's password, then the
 * queues of the job catalogue (so anything can enqueue before the first worker starts), and the
 * catalogue itself for SQL enqueue (ops.job_types).
 * This is `npm run migrate` and the Procfile's release step.
 */
export async function releaseDatabase(url: string, log: (line: string) => void, options: ReleaseOptions = {}): Promise<void> {
  const started = performance.now();
  await withQueueEngine(url, async (boss) => {
    log(`queue engine: pg-boss schema version ${await boss.schemaVersion()} installed`);
  });
  const applied = await migrate(url, { log: (line) => log(`migrations: ${line}`) });
  log(applied.length === 0 ? "migrations: already current" : `migrations: applied ${applied.length}`);
  await secureDatabase(url, options.appPassword);
  log(`privileges: no TEMP for PUBLIC${options.appPassword ? `; ${APP_ROLE}'s password set from APP_DATABASE_PASSWORD` : ""}`);
  await withQueueEngine(url, async (boss) => {
    await ensureQueues(boss);
    log("queues: created or updated from the job catalogue");
  });
  await publishJobCatalogue(url);
  log("catalogue: published to ops.job_types for SQL enqueue");
  log(`release: done in ${Math.round(performance.now() - started)} ms`);
}

async function secureDatabase(url: string, appPassword: string | undefined): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: "gpt-platform:release" });
  await client.connect();
  try {
    await client.query("SELECT ops.enforce_database_privileges()");
    // A verifier, not the password: nothing the server logs or shows can be replayed.
    if (appPassword)
      await client.query(`ALTER ROLE ${APP_ROLE} WITH LOGIN PASSWORD ${client.escapeLiteral(scramSha256Verifier(appPassword))}`);
  } finally {
    await client.end();
  }
}
