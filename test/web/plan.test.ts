import { sql } from "kysely";
import t from "tap";
import { createTestDatabase } from "../helpers/database.ts";
import { pageText, signUpClient } from "../helpers/web-client.ts";
import { startWeb } from "../helpers/web-process.ts";

t.test("the plan page: usage as bars, the closest limit for owners, and the quota's refusal on the new-job form", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com", organisationName: "Engines" });
  const { rows } = await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name = 'Engines'`.execute(db.handles.owner);
  const orgId = rows[0]!.id;
  await sql`INSERT INTO app.plans (id, name, max_waiting_jobs, jobs_per_day) VALUES ('pilot', 'Pilot', 100, 4)`.execute(db.handles.owner);
  await sql`SELECT ops.assign_plan(${orgId}, 'pilot')`.execute(db.handles.owner);

  for (let i = 0; i < 3; i++) t.equal((await ada.submit("/jobs/new", { echo: `job ${i}` })).status, 302);
  const page = await ada.get("/plan");
  t.equal(page.status, 200);
  const text = pageText(page.html);
  t.match(text, "Plan: Pilot");
  t.match(page.html, /<tr data-quota="jobs_per_day">.*?<meter[^>]*max="4"[^>]*value="3"/s, "jobs today drawn as a bar: 3 of 4");
  t.match(text, /Jobs enqueued today 75% 3 \(75%\) 4 /);
  t.match(
    text,
    /Closest to its limit: Jobs enqueued today ?, 75% used \(3 of 4; resets at 00:00 UTC\)/,
    "the owner sees the closest limit",
  );
  t.match(text, /Free .*Team .*Business/s, "the plans to compare");
  t.match(text, /serves yours with weight 1 ?; the plan sets no cap/, "the claim's terms of the organisation's plan");
  t.match(text, /Business 5,000,000 10,000,000 200,000,000 500 4/, "each plan's cap on running jobs and weight");

  t.equal((await ada.submit("/jobs/new", { echo: "fourth" })).status, 302);
  const refused = await ada.submit("/jobs/new", { echo: "fifth" });
  t.equal(refused.status, 429);
  t.match(pageText(refused.html), /quota exceeded: .* may enqueue 4 jobs a day.*Nothing was created; your plan shows its limits and usage/);
  const { rows: jobs } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE group_id = ${orgId}`.execute(
    db.handles.owner,
  );
  t.equal(jobs[0]!.n, 4, "the refused job was not created");
});

t.test("the operator-only plans page: hidden from everyone else, assigns plans with the operator's name, refuses bad input", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const owner = db.handles.owner;
  const grace = await signUpClient(web, { email: "grace@example.com", organisationName: "Operators Ltd" });
  const ada = await signUpClient(web, { email: "ada@example.com", organisationName: "Engines" });
  const { rows } = await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name = 'Engines'`.execute(owner);
  const engines = rows[0]!.id;

  const hidden = await grace.get("/operator/plans");
  t.equal(hidden.status, 404, "not an operator yet: the page does not exist for her");
  t.notMatch(pageText(hidden.html), /Engines/, "and it names no other organisation");
  t.notMatch(pageText((await grace.get("/plan")).html), /Operator: plans/, "no link to it either");

  await t.rejects(sql`SELECT ops.grant_platform_operator('nobody@example.com')`.execute(owner), {
    message: /no user with the email nobody@example\.com/,
  });
  await sql`SELECT ops.grant_platform_operator('Grace@Example.com')`.execute(owner);
  t.match(pageText((await grace.get("/plan")).html), /Operator: plans/, "an operator sees the link");
  const page = await grace.get("/operator/plans?q=engi");
  t.equal(page.status, 200);
  t.match(pageText(page.html), /Engines org-[^ ]*|Engines \S+ Free \(default\)/, "the search finds Engines on the default plan");
  const { rows: own } = await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name = 'Operators Ltd'`.execute(owner);
  t.ok(page.html.includes(`data-org="${engines}"`), "Engines has a row");
  t.notOk(page.html.includes(`data-org="${own[0]!.id}"`), "and only what matches has one");

  const moved = await grace.post("/operator/plans", { orgId: engines, planId: "team", note: "pilot customer" });
  t.equal(moved.status, 200);
  t.match(pageText(moved.html), /Moved to Team/);
  const { rows: stored } = await sql<{ plan_id: string; note: string }>`
    SELECT plan_id, note FROM app.subscriptions WHERE org_id = ${engines}::uuid`.execute(owner);
  t.same(stored, [{ plan_id: "team", note: "pilot customer (by grace@example.com on the operator page)" }], "who did it is kept");
  t.match(pageText((await ada.get("/plan")).html), /Plan: Team/, "the organisation sees its new plan");

  const unknownPlan = await grace.post("/operator/plans", { orgId: engines, planId: "platinum" });
  t.equal(unknownPlan.status, 400);
  t.match(pageText(unknownPlan.html), /Choose one of the plans: .*business.*free.*team|Choose one of the plans/);
  const unknownOrg = await grace.post("/operator/plans", { orgId: "00000000-0000-4000-8000-000000000000", planId: "team" });
  t.equal(unknownOrg.status, 400);
  t.match(pageText(unknownOrg.html), /no organisation 00000000-0000-4000-8000-000000000000\. Nothing was changed\./);
  const longNote = await grace.post("/operator/plans", { orgId: engines, planId: "free", note: "x".repeat(301) });
  t.equal(longNote.status, 400);
  const { rows: still } = await sql<{ plan_id: string }>`SELECT plan_id FROM app.subscriptions WHERE org_id = ${engines}::uuid`.execute(
    owner,
  );
  t.same(still, [{ plan_id: "team" }], "refused changes change nothing");

  t.equal((await ada.post("/operator/plans", { orgId: engines, planId: "business" })).status, 404, "a non-operator cannot post to it");
  const { rows: after } = await sql<{ plan_id: string }>`SELECT plan_id FROM app.subscriptions WHERE org_id = ${engines}::uuid`.execute(
    owner,
  );
  t.same(after, [{ plan_id: "team" }]);

  await sql`SELECT ops.revoke_platform_operator('grace@example.com')`.execute(owner);
  t.equal((await grace.get("/operator/plans")).status, 404, "revoked: gone again");
});
