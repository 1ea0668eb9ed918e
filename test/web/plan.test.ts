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

  t.equal((await ada.submit("/jobs/new", { echo: "fourth" })).status, 302);
  const refused = await ada.submit("/jobs/new", { echo: "fifth" });
  t.equal(refused.status, 429);
  t.match(pageText(refused.html), /quota exceeded: .* may enqueue 4 jobs a day.*Nothing was created; your plan shows its limits and usage/);
  const { rows: jobs } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE group_id = ${orgId}`.execute(
    db.handles.owner,
  );
  t.equal(jobs[0]!.n, 4, "the refused job was not created");
});
