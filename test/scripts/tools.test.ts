import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createVerifier } from "fast-jwt";
import t from "tap";
import { API_TOKEN_AUDIENCE } from "../../core/auth/api-token.ts";
import { provision, ProvisionError } from "../../scripts/lib/provision.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { TEST_JWT_SECRET } from "../helpers/test-env.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function tool(script: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [`${ROOT}scripts/${script}`, ...args], {
      cwd: "/tmp", // away from the checkout's .env and .data/local.env
      env: { PATH: process.env.PATH, NODE_ENV: "test", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test("npm run token prints a verifiable token and nothing else on stdout", async (t) => {
  const db = await createTestDatabase(t);
  const org = await createOrganisation(db);
  const result = await tool("token.ts", ["--org", org, "--scopes", "jobs:read", "--ttl-days", "2"], {
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: db.url,
  });
  t.equal(result.code, 0, result.stderr);
  const claims = createVerifier({ key: TEST_JWT_SECRET, allowedAud: API_TOKEN_AUDIENCE })(result.stdout.trim());
  t.match(claims, { org, scopes: ["jobs:read"], sub: "cli" });
  t.ok(claims.exp - claims.iat === 2 * 24 * 3600, "lifetime is two days");
});

t.test("npm run token resolves a slug through the database", async (t) => {
  const db = await createTestDatabase(t);
  const org = await createOrganisation(db);
  const { rows } = await db.handles.owner
    .selectFrom("app.organisations")
    .select("slug")
    .where("id", "=", org)
    .execute()
    .then((r) => ({ rows: r }));
  const result = await tool("token.ts", ["--org", rows[0]!.slug], { JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: db.url });
  t.equal(result.code, 0, result.stderr);
  t.match(createVerifier({ key: TEST_JWT_SECRET, allowedAud: API_TOKEN_AUDIENCE })(result.stdout.trim()), { org });
  const missing = await tool("token.ts", ["--org", "no-such-org"], { JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: db.url });
  t.equal(missing.code, 64);
  t.match(missing.stderr, /no organisation with slug "no-such-org"/);
});

t.test("npm run token refuses bad usage with exit 64 and says why", async (t) => {
  const org = "00000000-0000-4000-8000-000000000000";
  const cases: [string[], Record<string, string>, RegExp][] = [
    [[], { JWT_SECRET: TEST_JWT_SECRET }, /--org is required/],
    [["--org", org, "--scopes", "jobs:admin"], { JWT_SECRET: TEST_JWT_SECRET }, /unknown scope\(s\) jobs:admin/],
    [["--org", org, "--ttl-days", "0"], { JWT_SECRET: TEST_JWT_SECRET }, /--ttl-days must be a whole number/],
    // Empty overrides .env and .data/local.env and counts as unset.
    [["--org", org], { JWT_SECRET: "" }, /JWT_SECRET is not set/],
  ];
  for (const [args, env, message] of cases) {
    const result = await tool("token.ts", args, env);
    t.equal(result.code, 64, `${args.join(" ")} exits 64`);
    t.match(result.stderr, message);
    t.equal(result.stdout, "", "nothing on stdout");
  }
});

t.test("provisioning with an explicit URL only checks it", async (t) => {
  const db = await createTestDatabase(t);
  const lines: string[] = [];
  const result = await provision({ explicitUrl: db.url, localDatabases: ["gpt_platform"], log: (l) => lines.push(l) });
  t.equal(result.urls.gpt_platform, db.url);
  t.match(lines.join("\n"), /using the configured URL \(127\.0\.0\.1:\d+\/gpt_t_.*PostgreSQL 1\d/);
  t.match(lines.join("\n"), /pgvector is available/);
  t.notMatch(lines.join("\n"), /created/, "nothing is created on a configured server");

  await t.rejects(provision({ explicitUrl: "postgres://nobody@127.0.0.1:1/none", localDatabases: [], log: () => {} }), ProvisionError);
  await t.rejects(provision({ explicitUrl: "postgres://nobody:pw@127.0.0.1:1/none", localDatabases: [], log: () => {} }), {
    message: /cannot connect to 127\.0\.0\.1:1\/none: .*Check the URL, the server and its credentials/,
  });
});

t.test("migrate --status reports without changing anything", async (t) => {
  const db = await createTestDatabase(t);
  const result = await tool("migrate.ts", ["--status"], { DATABASE_URL: db.url });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /0001_tenancy\s+applied/);
  t.match(result.stdout, /status: current/);
  const bad = await tool("migrate.ts", ["--sideways"], { DATABASE_URL: db.url });
  t.equal(bad.code, 64);
  t.match(bad.stderr, /unknown argument --sideways/);
});
