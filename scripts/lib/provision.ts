import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

/**
 * Makes sure a PostgreSQL with pgvector answers and the platform's databases exist.
 *
 * - With an explicit URL: use it as is; only check that it answers and that pgvector is available.
 * - Without: use the local server on 127.0.0.1:5432; start or install it from Debian's packages
 *   when nothing answers and we run as root; build pgvector when it is missing; create databases.
 *
 * Each step says what it did. When a step cannot be done here it throws ProvisionError naming
 * exactly what the user must do.
 */

const run = promisify(execFile);
const SCRIPTS_DIR = fileURLToPath(new URL("../", import.meta.url));
export const LOCAL_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export class ProvisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProvisionError";
  }
}

type Log = (line: string) => void;

export interface ProvisionOptions {
  /** An explicit database URL (DATABASE_URL / TEST_DATABASE_URL); when set nothing is installed or created. */
  explicitUrl?: string;
  /** Databases to create on the local server when no explicit URL is given. */
  localDatabases: string[];
  log: Log;
}

export interface ProvisionResult {
  /** URL of each requested database (local mode), or of the explicit database. */
  urls: Record<string, string>;
  /** A URL to the server's maintenance database, for creating and dropping scratch databases. */
  serverUrl: string;
}

export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const { log } = options;
  if (options.explicitUrl) {
    const url = options.explicitUrl;
    const where = describeUrl(url);
    const version = await serverVersion(url).catch((error: Error) => {
      throw new ProvisionError(`cannot connect to ${where}: ${error.message}. Check the URL, the server and its credentials.`);
    });
    log(`database: using the configured URL (${where}, PostgreSQL ${version.text})`);
    await ensurePgvector(url, version.major, isLocalHost(url), log);
    // The configured database stands in for every database the caller asked for; scratch databases
    // (tests) are created from a connection to it, since CREATE DATABASE works from any database.
    return { urls: Object.fromEntries(options.localDatabases.map((name) => [name, url])), serverUrl: url };
  }

  const version = await ensureLocalServer(log);
  await ensurePgvector(LOCAL_SERVER_URL, version.major, true, log);
  const urls: Record<string, string> = {};
  for (const name of options.localDatabases) {
    const created = await createDatabaseIfMissing(LOCAL_SERVER_URL, name);
    log(created ? `database: created ${name}` : `database: ${name} exists`);
    urls[name] = withDatabase(LOCAL_SERVER_URL, name);
  }
  return { urls, serverUrl: LOCAL_SERVER_URL };
}

async function ensureLocalServer(log: Log): Promise<{ major: number; text: string }> {
  try {
    const version = await serverVersion(LOCAL_SERVER_URL);
    log(`database: PostgreSQL ${version.text} answers on 127.0.0.1:5432`);
    return version;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "28P01" || code === "28000") {
      throw new ProvisionError(
        "PostgreSQL on 127.0.0.1:5432 refused user postgres without a password. " +
          "Set DATABASE_URL=postgres://<user>:<password>@127.0.0.1:5432/<database> (and TEST_DATABASE_URL for tests).",
      );
    }
    if (code !== "ECONNREFUSED") throw error;
  }
  if (process.getuid?.() !== 0) {
    throw new ProvisionError(
      "no PostgreSQL answers on 127.0.0.1:5432 and this user cannot install one. Either start your PostgreSQL 15+ " +
        "(with pgvector), or set DATABASE_URL to one, or run `sudo scripts/install-postgres.sh` once.",
    );
  }
  log("database: nothing answers on 127.0.0.1:5432; installing/starting PostgreSQL from Debian's packages");
  await runScript("install-postgres.sh", [], log);
  return serverVersion(LOCAL_SERVER_URL);
}

async function ensurePgvector(url: string, major: number, local: boolean, log: Log): Promise<void> {
  if (await hasExtension(url, "vector")) {
    log("database: pgvector is available");
    return;
  }
  if (!local || process.getuid?.() !== 0 || !existsSync("/etc/debian_version")) {
    throw new ProvisionError(
      `the pgvector extension is not available on ${describeUrl(url)}. Install it on that server ` +
        `(Debian/Ubuntu as root: scripts/install-pgvector.sh ${major}; managed Postgres such as Supabase: enable "vector" in its extensions page).`,
    );
  }
  log(`database: pgvector is missing; building it from Debian's source package for PostgreSQL ${major}`);
  await runScript("install-pgvector.sh", [String(major)], log);
  if (!(await hasExtension(url, "vector"))) {
    throw new ProvisionError("pgvector was built but PostgreSQL still does not list it; see the output above.");
  }
}

async function runScript(name: string, args: string[], log: Log): Promise<void> {
  try {
    const { stdout } = await run("bash", [`${SCRIPTS_DIR}${name}`, ...args], { maxBuffer: 16 * 1024 * 1024 });
    for (const line of stdout.trim().split("\n")) if (line) log(`database: ${line}`);
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new ProvisionError(`scripts/${name} failed:\n${stdout}${stderr}`.trim());
  }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, application_name: "gpt-platform:provision" });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function serverVersion(url: string): Promise<{ major: number; text: string }> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ num: string; text: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
    );
    const num = Number(rows[0]!.num);
    return { major: Math.floor(num / 10000), text: rows[0]!.text.split(" ")[0]! };
  });
}

async function hasExtension(url: string, name: string): Promise<boolean> {
  return withClient(url, async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM pg_available_extensions WHERE name = $1", [name]);
    return rowCount === 1;
  });
}

/** Creates `name` on the server unless it exists; true when it was created. */
export async function createDatabaseIfMissing(serverUrl: string, name: string, template?: string): Promise<boolean> {
  assertIdentifier(name);
  if (template) assertIdentifier(template);
  return withClient(serverUrl, async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount === 1) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`);
    } catch (error) {
      // Another process created it between our check and our CREATE: the outcome we wanted.
      if ((error as { code?: string }).code === "42P04") return false;
      throw error;
    }
    return true;
  });
}

export async function dropDatabaseIfExists(serverUrl: string, name: string): Promise<void> {
  assertIdentifier(name);
  await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

function assertIdentifier(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new ProvisionError(`not a safe database name: ${name}`);
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function isLocalHost(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "::1" || host === "[::1]" || host === "";
}

/** host:port/database, never the password. */
export function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
}
