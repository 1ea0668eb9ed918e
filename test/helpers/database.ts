import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Test } from "tap";
import { connectDatabase, type DatabaseHandles } from "../../core/db/connect.ts";
import { organisationCreate } from "../../core/accounts/organisations.ts";
import { testEnv } from "./test-env.ts";

export interface TestDatabase {
  name: string;
  url: string;
  handles: DatabaseHandles;
}

function urlFor(name: string): string {
  const url = new URL(testEnv.serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function serverQuery<R extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
  url = testEnv.serverUrl,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** An empty database (nothing migrated), dropped when the test ends. */
export async function createEmptyDatabase(t: Test): Promise<{ name: string; url: string }> {
  const name = `gpt_t_${testEnv.runId}_${randomBytes(5).toString("hex")}`;
  await serverQuery(`CREATE DATABASE "${name}"`);
  t.teardown(() => serverQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => undefined));
  return { name, url: urlFor(name) };
}

/**
 * A private, fully migrated database cloned from the run's template (milliseconds, not a migration
 * run), with open app/owner handles; both are closed and the database dropped at teardown.
 */
export async function createTestDatabase(t: Test): Promise<TestDatabase> {
  const name = `gpt_t_${testEnv.runId}_${randomBytes(5).toString("hex")}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await serverQuery(`CREATE DATABASE "${name}" TEMPLATE "${testEnv.templateDb}"`);
      break;
    } catch (error) {
      // 55006: another file is cloning the template this instant; clones are quick, so wait a moment.
      if ((error as { code?: string }).code !== "55006" || attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const url = urlFor(name);
  // A clone does not inherit the template's database privileges (no TEMP for PUBLIC): the release
  // step applies them to every database it releases, and so does this.
  await serverQuery("SELECT ops.enforce_database_privileges()", [], url);
  const handles = connectDatabase({ url, appPassword: testEnv.appPassword, maxConnections: 5, applicationName: "gpt-platform:test" });
  t.teardown(async () => {
    await handles.close();
    await serverQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
  return { name, url, handles };
}

let orgCounter = 0;

/** A new organisation with a unique slug. */
export async function createOrganisation(db: TestDatabase, name = "Test Org"): Promise<string> {
  const slug = `org-${process.pid}-${++orgCounter}-${randomBytes(3).toString("hex")}`;
  return (await organisationCreate(db.handles.owner, { name, slug })).id;
}
