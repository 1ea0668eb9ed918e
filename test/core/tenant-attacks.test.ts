// Attacks on the tenant boundary as an attacker who can run any SQL as gpt_app (a SQL injection in
// any application query) inside organisation A's scope. Every attempt must fail or return nothing
// of organisation B's. docs/decisions/009 describes the boundary these attacks test.
import { sql } from "kysely";
import pg from "pg";
import t from "tap";
import { apiTokenCreate } from "../../core/auth/api-tokens.ts";
import { appDatabaseUrl } from "../../core/db/app-role.ts";
import { withOrg } from "../../core/db/org-scope.ts";
import { TenantScopeSigner } from "../../core/db/tenant-scope.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { rollupAdd } from "../../core/jobs/rollups.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { testEnv } from "../helpers/test-env.ts";
import { oneCompletedJobRollup } from "../helpers/rollups.ts";

/** What marks organisation B's data: anything containing one of these leaked. */
const B_MARK = "SECRET-B";

interface Attempt {
  rows: Record<string, unknown>[];
  error?: { code?: string; message: string };
  notices: string[];
}

/** A gpt_app connection, as the application's pool opens it, with a transaction per scope. */
class AppSession {
  readonly client: pg.Client;
  readonly notices: string[] = [];

  constructor(url: string) {
    this.client = new pg.Client({ connectionString: url });
    this.client.on("notice", (n) => this.notices.push(n.message ?? ""));
  }

  /**
   * Runs `text` inside a savepoint, so a failure leaves the transaction (and its scope) usable;
   * `scope`, when given, is set first (and undone with the savepoint).
   */
  async attempt(text: string, values: unknown[] = [], scope?: string): Promise<Attempt> {
    this.notices.length = 0;
    await this.client.query("SAVEPOINT attempt");
    try {
      if (scope !== undefined) await this.client.query("SELECT set_config('app.org_scope', $1, true)", [scope]);
      const result = await this.client.query(text, values);
      await this.client.query("RELEASE SAVEPOINT attempt");
      return { rows: (Array.isArray(result) ? result.at(-1) : result).rows ?? [], notices: [...this.notices] };
    } catch (error) {
      await this.client.query("ROLLBACK TO SAVEPOINT attempt");
      return { rows: [], error: error as { code?: string; message: string }, notices: [...this.notices] };
    }
  }
}

async function seed(db: TestDatabase) {
  const { owner, app } = db.handles;
  const orgA = await createOrganisation(db, "Org A");
  const orgB = await createOrganisation(db, `Org B ${B_MARK}`);
  const users: Record<string, string> = {};
  for (const [org, email] of [
    [orgA, "a@example.com"],
    [orgB, `${B_MARK.toLowerCase()}@example.com`],
  ] as const) {
    const user = await owner
      .insertInto("app.users")
      .values({ email, password_hash: `hash-of-${email}` })
      .returning("id")
      .executeTakeFirstOrThrow();
    await owner.insertInto("app.memberships").values({ org_id: org, user_id: user.id, role: "owner" }).execute();
    users[org] = user.id;
  }
  const jobs = new JobClient(app);
  for (const [org, mark] of [
    [orgA, "A"],
    [orgB, B_MARK],
  ] as const) {
    await withOrg(app, org, async (trx) => {
      await jobs.enqueue(trx, "test-job", { echo: `${mark}-payload` });
      const failed = await jobs.enqueue(trx, "test-job", { echo: `${mark}-failed` });
      await trx
        .insertInto("app.agents")
        .values({ org_id: org, name: `${mark}-agent`, model: "m", system_prompt: `${mark}-prompt`, temperature: "0.5", max_tokens: 10 })
        .execute();
      await trx
        .insertInto("app.invitations")
        .values({
          org_id: org,
          email: `invitee-${mark.toLowerCase()}@example.com`,
          role: "member",
          token_hash: Buffer.from(mark),
          expires_at: new Date(Date.now() + 3600_000),
        })
        .execute();
      await apiTokenCreate(trx, "x".repeat(32), {
        orgId: org,
        name: `${mark}-token`,
        scopes: ["jobs:read"],
        ttlDays: 1,
        createdBy: users[org]!,
        subject: mark,
      });
      return failed;
    }).then(async ({ id }) => {
      // A failure with an error, its attempt history and a dead-letter copy, as the worker leaves them.
      await sql`UPDATE pgboss.job SET state = 'failed', output = ${JSON.stringify({ message: `${mark}-error` })}::jsonb WHERE id = ${id}`.execute(
        owner,
      );
      await sql`INSERT INTO app.job_attempts (org_id, job_id, attempt, run_ms, message, final) VALUES (${org}, ${id}, 1, 5, ${`${mark}-attempt`}, true)`.execute(
        owner,
      );
      await sql`INSERT INTO pgboss.job (id, name, data, group_id, source_id, source_name, source_root_id, source_output)
        VALUES (gen_random_uuid(), 'test-job.dlq', ${JSON.stringify({ echo: `${mark}-dead` })}::jsonb, ${org}, ${id}, 'test-job', ${id}, ${JSON.stringify({ message: `${mark}-error` })}::jsonb)`.execute(
        owner,
      );
    });
  }
  await rollupAdd(
    owner,
    [orgA, orgB].map((orgId) => oneCompletedJobRollup(orgId)),
  );
  return { orgA, orgB, users };
}

t.test("SQL run as gpt_app in organisation A's scope reaches nothing of organisation B's", async (t) => {
  const db = await createTestDatabase(t);
  const { orgA, orgB, users } = await seed(db);
  const leaks = (value: unknown) => {
    const text = JSON.stringify(value);
    return text.includes(B_MARK) || text.toLowerCase().includes(B_MARK.toLowerCase()) || text.includes(orgB) || text.includes(users[orgB]!);
  };
  const signer = new TenantScopeSigner(db.handles.owner);
  const scopeA = await signer.scopeFor(orgA);

  const session = new AppSession(appDatabaseUrl(db.url, testEnv.appPassword));
  await session.client.connect();
  t.teardown(() => session.client.end());
  await session.client.query("BEGIN");
  await session.client.query("SELECT set_config('app.org_scope', $1, true)", [scopeA]);

  // A owner-made "leaky" function, as an attacker would write with TEMP or CREATE rights (gpt_app
  // has neither, tested below): it prints whatever it is given and is cheap, so a planner without
  // barriers would run it before the organisation filter.
  await sql`CREATE FUNCTION public.leak(value anyelement) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
    BEGIN RAISE NOTICE 'leak: %', value; RETURN true; END $$`.execute(db.handles.owner);
  await sql`GRANT EXECUTE ON FUNCTION public.leak(anyelement) TO gpt_app`.execute(db.handles.owner);

  await t.test("the session is A's, and sees A's data", async (t) => {
    const who = await session.attempt("SELECT current_user, session_user, app.current_org_id() AS org");
    t.same(who.rows[0], { current_user: "gpt_app", session_user: "gpt_app", org: orgA });
    const jobs = await session.attempt("SELECT payload FROM app.jobs");
    t.ok(jobs.rows.length >= 2 && jobs.rows.every((r) => JSON.stringify(r).includes('"A-')), "A's jobs are visible");
  });

  await t.test("every relation it can select from holds nothing of B's", async (t) => {
    const { rows: relations } = await session.attempt(`
      SELECT format('%I.%I', n.nspname, c.relname) AS name, array_agg(format('%I', a.attname) ORDER BY a.attnum) AS columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        AND has_column_privilege(c.oid, a.attnum, 'SELECT') AND has_schema_privilege(n.oid, 'USAGE')
      GROUP BY 1 ORDER BY 1`);
    const readable = relations.map((r) => r.name as string);
    t.ok(readable.includes("app.jobs") && readable.includes("app.users"), `readable: ${readable.join(", ")}`);
    for (const relation of [
      "pgboss.job",
      "pgboss.job_common",
      "pgboss.queue",
      "ops.tenant_scope_keys",
      "app.sessions",
      "app.password_resets",
      "ops.backups",
      "ops.worker_instances",
    ]) {
      t.notOk(readable.includes(relation), `${relation} is not readable at all`);
    }
    for (const relation of relations) {
      const result = await session.attempt(`SELECT ${(relation.columns as string[]).join(", ")} FROM ${relation.name}`);
      t.notOk(result.error, `${relation.name} can be read (${result.error?.message ?? "ok"})`);
      t.notOk(leaks(result.rows), `${relation.name}: ${result.rows.length} row(s), none of them B's`);
    }
  });

  await t.test("secret columns are not readable, and nothing can be changed outside A", async (t) => {
    for (const statement of [
      "SELECT password_hash FROM app.users",
      "SELECT token_hash FROM app.invitations",
      "SELECT key FROM ops.tenant_scope_keys",
      "SELECT * FROM app.sessions",
      "SELECT id, start_after FROM pgboss.job",
      "SELECT data FROM pgboss.job_common",
    ]) {
      const result = await session.attempt(statement);
      t.equal(result.error?.code, "42501", `${statement}: permission denied`);
    }
    for (const statement of [
      `UPDATE app.users SET password_hash = 'x', email = 'taken@example.com' WHERE id = '${users[orgA]}'`,
      `UPDATE app.memberships SET role = 'owner'`,
      `INSERT INTO app.memberships (org_id, user_id, role) VALUES ('${orgA}', '${users[orgB]}', 'owner')`,
      `INSERT INTO pgboss.job (id, name, data, group_id) VALUES (gen_random_uuid(), 'test-job', '{}', '${orgB}')`,
      `INSERT INTO pgboss.job_common (id, name, data, group_id) VALUES (gen_random_uuid(), 'test-job', '{}', '${orgB}')`,
      `UPDATE pgboss.job SET state = 'cancelled'`,
      `INSERT INTO app.job_refs (org_id, job_id, type) VALUES ('${orgB}', gen_random_uuid(), 'test-job')`,
      `UPDATE app.organisations SET name = 'taken'`,
      `DELETE FROM app.job_attempts`,
      `UPDATE app.api_tokens SET org_id = '${orgB}'`,
      `INSERT INTO ops.tenant_scope_keys (key) VALUES ('\\x00')`,
      `TRUNCATE app.agents`,
    ]) {
      const result = await session.attempt(statement);
      t.equal(result.error?.code, "42501", `${statement.slice(0, 70)}: ${result.error?.message ?? "not refused"}`);
    }
    const rls = await session.attempt(
      `INSERT INTO app.agents (org_id, name, model, system_prompt, temperature, max_tokens) VALUES ('${orgB}', 'x', 'm', '', 0.5, 1)`,
    );
    t.match(rls.error?.message, /row-level security/, "a row for B is refused by B's policy");
    const moved = await session.attempt(`UPDATE app.agents SET name = name || '' WHERE org_id = '${orgB}' RETURNING id`);
    t.same(moved.rows, [], "B's agents are invisible to an update");
    const removed = await session.attempt(`DELETE FROM app.memberships WHERE org_id = '${orgB}' RETURNING user_id`);
    t.same(removed.rows, [], "B's memberships are invisible to a delete");
  });

  await t.test("a leaky function in the caller's WHERE never sees B's rows", async (t) => {
    for (const [relation, column] of [
      ["app.jobs", "payload"],
      ["app.jobs", "output"],
      ["app.jobs", "id"],
      ["app.dead_letters", "payload"],
      ["app.dead_letters", "error"],
      ["app.queue_depth", "org_id"],
      ["app.job_throughput_minute", "org_id"],
      ["app.queue_stats_24h", "org_id"],
      ["app.job_refs", "org_id"],
      ["app.job_attempts", "message"],
      ["app.agents", "system_prompt"],
      ["app.users", "email"],
      ["app.memberships", "org_id"],
      ["app.organisations", "name"],
      ["app.invitations", "email"],
      ["app.api_tokens", "name"],
      ["ops.job_rollup_minute", "org_id"],
    ] as const) {
      const result = await session.attempt(`SELECT count(*) FROM ${relation} WHERE public.leak(${column})`);
      t.notOk(result.error, `${relation} with leak(${column}) runs`);
      t.notOk(leaks(result.notices), `${relation}: leak(${column}) printed ${result.notices.length} value(s), none of B's`);
    }
  });

  await t.test("the scope cannot be forged, switched or widened", async (t) => {
    const [, keyId, , expires, signature] = scopeA.split(".");
    for (const [what, forged] of [
      ["A's signature on B's id", `v1.${keyId}.${orgB}.${expires}.${signature}`],
      ["a made-up signature", `v1.${keyId}.${orgB}.${expires}.${"0".repeat(64)}`],
      ["an unknown key", `v1.999.${orgB}.${expires}.${signature}`],
      ["an expired scope", `v1.${keyId}.${orgA}.1000.${signature}`],
      ["a bare organisation id", orgB],
      ["a malformed scope", `v1.${keyId}.${orgB}`],
      ["a valid scope with a part added", `${scopeA}.${orgB}`],
      ["a valid scope with a line added", `${scopeA}\n${orgB}`],
    ] as const) {
      const result = await session.attempt("SELECT count(*) AS n FROM app.jobs", [], forged);
      t.equal(result.error?.code, "42501", `${what}: refused (${result.error?.message ?? "accepted!"})`);
    }
    const oldSetting = await session.attempt(`SELECT set_config('app.org_id', '${orgB}', true); SELECT payload FROM app.jobs`);
    t.notOk(leaks(oldSetting.rows), "the old app.org_id setting means nothing any more");
    const {
      rows: [ownerRole],
    } = await sql<{ name: string }>`SELECT current_user AS name`.execute(db.handles.owner);
    for (const statement of [
      `SET ROLE ${ownerRole!.name}`,
      `SET SESSION AUTHORIZATION ${ownerRole!.name}`,
      "SET ROLE pg_read_all_data",
      "ALTER ROLE gpt_app BYPASSRLS",
      "CREATE ROLE intruder",
    ]) {
      const result = await session.attempt(statement);
      t.ok(result.error, `${statement}: refused (${result.error?.message ?? "accepted!"})`);
    }
    const reset = await session.attempt("RESET ROLE; SELECT current_user");
    t.same(reset.rows, [{ current_user: "gpt_app" }], "RESET ROLE leaves it gpt_app: there is no stronger session user");
    const memberOf = await session.attempt("SELECT count(*)::int AS n FROM pg_auth_members WHERE member = 'gpt_app'::regrole");
    t.same(memberOf.rows, [{ n: 0 }], "gpt_app is a member of no role");
  });

  await t.test("it cannot define objects of its own, temporary or not", async (t) => {
    for (const statement of [
      "CREATE FUNCTION pg_temp.peek(x jsonb) RETURNS boolean LANGUAGE sql AS 'SELECT true'",
      "CREATE TEMP TABLE loot (x text)",
      "CREATE FUNCTION public.peek() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE TABLE app.loot (x text)",
      "CREATE VIEW ops.loot AS SELECT 1",
      "CREATE SCHEMA loot",
    ]) {
      const result = await session.attempt(statement);
      t.equal(result.error?.code, "42501", `${statement.slice(0, 60)}: ${result.error?.message ?? "accepted!"}`);
    }
  });

  await t.test("it can call only the tenant functions, and they stay in A", async (t) => {
    const { rows } = await session.attempt(`
      SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname IN ('app', 'ops') AND has_function_privilege(p.oid, 'EXECUTE') ORDER BY 1`);
    t.same(
      rows.map((r) => r.fn),
      [
        "app.current_org_id()",
        "app.enqueue(text,jsonb,jsonb)",
        "app.enqueue_many(jsonb)",
        "app.require_org_id()",
        "app.subscription_usage()",
        "ops.histogram_quantile(bigint[],double precision)",
        "ops.latency_bucket_bounds_ms()",
      ],
      "EXECUTE is granted, never PUBLIC's",
    );
    for (const statement of [
      `SELECT ops.enqueue('test-job', '${orgB}', '{}')`,
      `SELECT * FROM ops.enqueue_many('[{"type": "test-job", "org_id": "${orgB}"}]')`,
      `SELECT ops.rotate_tenant_scope_key()`,
      `SELECT ops.enforce_database_privileges()`,
      `SELECT ops.organisation_exists('${orgB}')`,
      `SELECT * FROM ops.subscription_usage('${orgB}')`,
      `SELECT ops.assign_plan('${orgA}', 'business')`,
      `SELECT ops.record_llm_tokens('${orgB}', 1000000)`,
      // Claim terms take advisory locks; operators' page rights are the owner's to give.
      `SELECT * FROM ops.claim_terms('test-job', ARRAY['${orgB}'])`,
      `SELECT ops.grant_platform_operator('someone@example.com')`,
      `SELECT ops.revoke_platform_operator('someone@example.com')`,
      "SELECT * FROM ops.platform_operators",
      "INSERT INTO ops.platform_operators (user_id, granted_by) SELECT id, 'me' FROM app.users",
      `CALL ops.backfill('x', 'test-job', 'SELECT 1')`,
      // pg-boss's own functions keep PUBLIC's EXECUTE (its schema, not ours), but the schema is closed.
      `SELECT pgboss.create_queue('loot', '{}')`,
      `SELECT pgboss.job_table_run('DELETE FROM pgboss.job', 'job_common', 'test-job')`,
    ]) {
      const result = await session.attempt(statement);
      t.equal(result.error?.code, "42501", `${statement.slice(0, 60)}: ${result.error?.message ?? "accepted!"}`);
    }
    const forB = await session.attempt(
      `SELECT * FROM app.enqueue_many('[{"type": "test-job", "org_id": "${orgB}", "payload": {"echo": "x"}}]')`,
    );
    t.equal(forB.error?.code, "42501", "app.enqueue_many refuses a job naming B");
    const mine = await session.attempt(`SELECT app.enqueue('test-job', '{"echo": "A-new"}') AS id`);
    const owner = await sql<{ group_id: string }>`SELECT group_id FROM pgboss.job WHERE data = '{"echo": "A-new"}'`.execute(
      db.handles.owner,
    );
    t.ok(mine.rows[0]?.id, "app.enqueue works inside the scope");
    t.same(owner.rows, [], "(not committed yet: the attacker's transaction is still open)");
    const unscoped = await session.attempt(`SELECT set_config('app.org_scope', '', true); SELECT app.enqueue('test-job', '{}')`);
    t.equal(unscoped.error?.code, "42501", "without a scope nothing can be enqueued");
  });

  await t.test("scopes never show up in other sessions' statement text", async (t) => {
    // B's scope is set by withOrg on the application's own pool; its connection stays idle after.
    await withOrg(db.handles.app, orgB, (trx) => trx.selectFrom("app.agents").select("id").execute());
    const { rows } = await session.attempt("SELECT query FROM pg_stat_activity WHERE usename = 'gpt_app'");
    t.ok(rows.length >= 2, "other gpt_app sessions are visible, as PostgreSQL shows a role its own sessions");
    t.notOk(
      rows.some((r) => /v1\.\d+\.[0-9a-f-]{36}\.\d+\.[0-9a-f]{64}/.test(String(r.query))),
      "no signed scope in any statement text",
    );
  });

  await session.client.query("ROLLBACK");
});
