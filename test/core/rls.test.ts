import { sql } from "kysely";
import t from "tap";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { withOrg } from "../../core/db/org-scope.ts";
import { rollupAdd } from "../../core/jobs/rollups.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { oneCompletedJobRollup } from "../helpers/rollups.ts";

t.test("row-level security", async (t) => {
  const db = await createTestDatabase(t);
  const { app, owner } = db.handles;
  const orgA = await createOrganisation(db, "A");
  const orgB = await createOrganisation(db, "B");
  for (const [org, email] of [
    [orgA, "a@example.com"],
    [orgB, "b@example.com"],
  ] as const) {
    const user = await owner.insertInto("app.users").values({ email }).returning("id").executeTakeFirstOrThrow();
    await owner.insertInto("app.memberships").values({ org_id: org, user_id: user.id, role: "owner" }).execute();
  }
  const jobs = new JobClient();
  await withOrg(app, orgA, (trx) => jobs.enqueue(trx, "test-job", { echo: "a" }));
  await withOrg(app, orgB, (trx) => jobs.enqueue(trx, "test-job", { echo: "b" }));
  await rollupAdd(
    owner,
    [orgA, orgB].map((orgId) => oneCompletedJobRollup(orgId)),
  );

  t.test("every table that carries org_id has RLS enabled", async (t) => {
    const { rows } = await sql<{ table: string; rls: boolean }>`
      SELECT c.oid::regclass::text AS table, c.relrowsecurity AS rls
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('app', 'ops') AND c.relkind IN ('r', 'p')
        AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
             OR c.relname IN ('organisations', 'users'))
    `.execute(owner);
    t.ok(rows.length >= 4, `found the tenant tables: ${rows.map((r) => r.table).join(", ")}`);
    for (const row of rows) t.ok(row.rls, `${row.table} has row-level security`);
  });

  t.test("the application role cannot bypass RLS", async (t) => {
    const { rows } = await sql<{ role: string; superuser: boolean; bypass: boolean }>`
      SELECT current_user AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypass FROM pg_roles r WHERE r.rolname = current_user
    `.execute(app);
    t.same(rows[0], { role: "gpt_app", superuser: false, bypass: false });
  });

  t.test("without an organisation the app role sees no tenant rows", async (t) => {
    for (const table of ["app.organisations", "app.users", "app.memberships", "app.jobs", "ops.job_rollup_minute"] as const) {
      const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(app);
      t.equal(Number(rows[0]!.n), 0, `${table} is empty without an organisation`);
    }
  });

  t.test("with organisation A it sees A's rows and none of B's", async (t) => {
    await withOrg(app, orgA, async (trx) => {
      const orgs = await trx.selectFrom("app.organisations").select("id").execute();
      t.same(
        orgs.map((o) => o.id),
        [orgA],
      );
      const users = await trx.selectFrom("app.users").select("email").execute();
      t.same(
        users.map((u) => u.email),
        ["a@example.com"],
      );
      const jobs = await trx.selectFrom("app.jobs").select(["payload", "org_id"]).execute();
      t.same(jobs, [{ payload: { echo: "a" }, org_id: orgA }]);
      const rollups = await trx.selectFrom("ops.job_rollup_minute").select("org_id").execute();
      t.same(
        rollups.map((r) => r.org_id),
        [orgA],
      );
    });
  });

  t.test("writes into another organisation are refused by the database", async (t) => {
    const agent = { name: "intruder", model: "m", system_prompt: "", temperature: "0.5", max_tokens: 10 };
    await t.rejects(
      withOrg(app, orgA, (trx) =>
        trx
          .insertInto("app.agents")
          .values({ ...agent, org_id: orgB })
          .execute(),
      ),
      { message: /row-level security/ },
    );
    await withOrg(app, orgB, (trx) =>
      trx
        .insertInto("app.agents")
        .values({ ...agent, name: "B's agent", org_id: orgB })
        .execute(),
    );
    const updated = await withOrg(app, orgA, (trx) =>
      trx.updateTable("app.agents").set({ name: "taken" }).where("org_id", "=", orgB).executeTakeFirst(),
    );
    t.equal(Number(updated.numUpdatedRows), 0, "B's rows are invisible to an update scoped to A");
    await t.rejects(
      withOrg(app, orgA, (trx) => trx.insertInto("app.memberships").values({ org_id: orgA, user_id: orgB, role: "owner" }).execute()),
      { code: "42501" },
      "memberships are not the application role's to add, even in its own organisation",
    );
  });

  t.test("the app role reads jobs only through app.jobs", async (t) => {
    await t.rejects(sql`SELECT data FROM pgboss.job`.execute(app), { code: "42501" }, "no direct read of job payloads");
    await t.rejects(sql`DELETE FROM pgboss.job`.execute(app), { code: "42501" }, "no deletes");
    await t.rejects(sql`UPDATE pgboss.job SET priority = 1`.execute(app), { code: "42501" }, "no updates");
  });

  t.test("app.jobs and app.dead_letters read pg-boss's table under the caller's policy", async (t) => {
    const { rows: views } = await sql<{ view: string; options: string[] | null }>`
      SELECT DISTINCT v.oid::regclass::text AS view, v.reloptions AS options
      FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace
      JOIN pg_rewrite r ON r.ev_class = v.oid JOIN pg_depend d ON d.objid = r.oid
      WHERE n.nspname = 'app' AND v.relkind = 'v' AND d.refobjid = 'pgboss.job'::regclass
      ORDER BY 1
    `.execute(owner);
    t.same(
      views.map((v) => v.view),
      ["app.dead_letters", "app.jobs"],
      "the app views over pg-boss's table",
    );
    for (const view of views) t.ok(view.options?.includes("security_invoker=true"), `${view.view} runs with the caller's rights`);
    const { rows: policies } = await sql<{ rls: boolean; policies: string[] }>`
      SELECT c.relrowsecurity AS rls, array(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS policies
      FROM pg_class c WHERE c.oid = 'pgboss.job'::regclass
    `.execute(owner);
    t.same(policies[0], { rls: true, policies: ["tenant_rows"] }, "row-level security is on, with the tenant policy only");
  });

  t.test("every release puts row-level security back on pg-boss's table, or stops", async (t) => {
    await sql`ALTER TABLE pgboss.job DISABLE ROW LEVEL SECURITY`.execute(owner);
    await sql`SELECT ops.enforce_database_privileges()`.execute(owner);
    const { rows } = await sql<{ rls: boolean }>`SELECT relrowsecurity AS rls FROM pg_class WHERE oid = 'pgboss.job'::regclass`.execute(
      owner,
    );
    t.same(rows, [{ rls: true }], "switched back on");
    const rollBack = new Error("roll back");
    await owner
      .transaction()
      .execute(async (trx) => {
        await sql`DROP POLICY tenant_rows ON pgboss.job`.execute(trx);
        await t.rejects(
          sql`SELECT ops.enforce_database_privileges()`.execute(trx),
          /pgboss\.job has lost its tenant_rows policy/,
          "a missing policy stops the release",
        );
        throw rollBack;
      })
      .catch((error: unknown) => {
        if (error !== rollBack) throw error;
      });
    const { rows: after } = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM pg_policy WHERE polrelid = 'pgboss.job'::regclass`.execute(owner);
    t.same(after, [{ n: 1 }], "(the policy was dropped only inside the rolled-back transaction)");
  });

  t.test("the organisation setting ends with its transaction", async (t) => {
    await withOrg(app, orgA, async () => {});
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM app.organisations`.execute(app);
    t.equal(Number(rows[0]!.n), 0, "a pooled connection does not keep the previous organisation");
  });
});
