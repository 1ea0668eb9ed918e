import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { jobCatalogue } from "../../core/jobs/catalogue.ts";
import { publishJobCatalogue } from "../../core/jobs/catalogue-publish.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { bearer, startWorkerApp, tokenFor } from "../helpers/worker.ts";
import { spawnWorker } from "../helpers/worker-process.ts";

async function enqueue(db: TestDatabase, orgId: string, count: number): Promise<string[]> {
  const results = await withOrg(db.handles.app, orgId, (trx) =>
    new JobClient().enqueueMany(
      trx,
      Array.from({ length: count }, (_, i) => ({ type: "test-job", payload: { echo: i } })),
    ),
  );
  return results.map((r) => r.id);
}

async function states(db: TestDatabase, ids: readonly string[]): Promise<Record<string, number>> {
  const { rows } = await sql<{ state: string; n: number }>`
    SELECT state::text, count(*)::int AS n FROM pgboss.job WHERE id = ANY(${[...ids]}::uuid[]) GROUP BY state`.execute(db.handles.owner);
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

const allCompleted = (db: TestDatabase, ids: readonly string[]) => async () => (await states(db, ids)).completed === ids.length;

t.test("a paused organisation's jobs wait while another's run; resuming loses nothing", async (t) => {
  const db = await createTestDatabase(t);
  const paused = await createOrganisation(db, "Paused");
  const other = await createOrganisation(db, "Other");
  const owner = db.handles.owner;
  await sql`SELECT ops.pause_queue('test-job', ${paused}, 'moving offices')`.execute(owner);
  const worker = spawnWorker(t, db);
  await worker.ready();

  const held = await enqueue(db, paused, 2000);
  const others = await enqueue(db, other, 5);
  await waitFor("the other organisation's jobs completed", allCompleted(db, others));
  // Two of the worker's one-second polls and a NOTIFY for each enqueue have passed by now.
  await sleep(2500);
  t.same(await states(db, held), { created: 2000 }, "the paused organisation's 2,000 jobs are all still waiting, none started");

  const { rows } = await sql<{ resumed: boolean }>`SELECT ops.resume_queue('test-job', ${paused}) AS resumed`.execute(owner);
  t.equal(rows[0]!.resumed, true);
  await waitFor("the resumed jobs completed", allCompleted(db, held), { timeoutMs: 30_000 });
  const { rows: spent } = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY(${held}::uuid[]) AND retry_count > 0`.execute(owner);
  t.equal(spent[0]!.n, 0, "each ran once, on its first attempt");

  await t.test("a pause for everyone holds every organisation's jobs", async (t) => {
    await sql`SELECT ops.pause_queue('test-job')`.execute(owner);
    const waiting = [...(await enqueue(db, paused, 3)), ...(await enqueue(db, other, 3))];
    await sleep(2500);
    t.same(await states(db, waiting), { created: 6 });
    await sql`SELECT ops.resume_queue('test-job')`.execute(owner);
    await waitFor("all six completed", allCompleted(db, waiting));
  });

  await t.test("bad input to the operator functions is refused with what to do", async (t) => {
    await t.rejects(sql`SELECT ops.pause_queue('tset-job')`.execute(owner), { message: /no job type "tset-job"/ });
    await t.rejects(sql`SELECT ops.pause_queue('test-job', gen_random_uuid())`.execute(owner), { message: /no organisation/ });
    const { rows } = await sql<{ resumed: boolean }>`SELECT ops.resume_queue('test-job') AS resumed`.execute(owner);
    t.equal(rows[0]!.resumed, false, "resuming what is not paused says so");
  });
});

t.test("an organisation pauses and resumes its own queue through the API, and only its own", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url);
  const orgA = await createOrganisation(db, "A");
  const orgB = await createOrganisation(db, "B");
  const tokenA = await tokenFor(db, orgA);
  const tokenB = await tokenFor(db, orgB);
  const post = (url: string, token: string, body?: unknown) =>
    app.inject({
      method: "POST",
      url,
      headers: { ...bearer(token), ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const pausedOf = async (token: string) => {
    const response = await app.inject({ method: "GET", url: "/api/queues", headers: bearer(token) });
    return (response.json() as { queues: { type: string; paused: Record<string, { reason: string | null } | null> }[] }).queues.find(
      (q) => q.type === "test-job",
    )!.paused;
  };

  const paused = await post("/api/queues/test-job/pause", tokenA, { reason: "quarter end" });
  t.equal(paused.statusCode, 200, paused.body);
  t.match(paused.json(), { type: "test-job", paused: { byOrganisation: { reason: "quarter end" }, forEveryone: null } });
  t.match(await pausedOf(tokenA), { byOrganisation: { reason: "quarter end" } });
  t.same(await pausedOf(tokenB), { byOrganisation: null, forEveryone: null }, "another organisation sees no pause of its own");

  await sql`SELECT ops.pause_queue('test-job', NULL, 'upgrade')`.execute(db.handles.owner);
  t.match(await pausedOf(tokenB), { forEveryone: { reason: "upgrade" } }, "an operator's pause for everyone shows to every organisation");

  const byB = await post("/api/queues/test-job/resume", tokenB);
  t.match(
    byB.json(),
    { resumed: false, paused: { forEveryone: { reason: "upgrade" } } },
    "an organisation cannot lift an operator's pause",
  );
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM app.queue_pauses`.execute(db.handles.owner);
  t.equal(rows[0]!.n, 2, "both pauses stand");

  const resumed = await post("/api/queues/test-job/resume", tokenA);
  t.match(resumed.json(), { resumed: true, paused: { byOrganisation: null } });

  const unknown = await post("/api/queues/tset-job/pause", tokenA);
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { code: "unknown_job_type", knownTypes: ["test-job", "test-upstream-call"] });
  const badBody = await post("/api/queues/test-job/pause", tokenA, { reason: 5, extra: true });
  t.equal(badBody.statusCode, 400);
  const readOnly = await tokenFor(db, orgA, { scopes: ["jobs:read"] });
  t.equal((await post("/api/queues/test-job/pause", readOnly)).statusCode, 403);

  await post("/api/queues/test-job/pause", tokenA);
  await publishJobCatalogue(db.url, jobCatalogue);
  t.match(await pausedOf(tokenA), { byOrganisation: { reason: null } }, "a release (which republishes the catalogue) keeps pauses");

  // SQL as the application role, in B's scope: A's pause cannot be seen, lifted or forged.
  await withOrg(db.handles.app, orgB, async (trx) => {
    const seen = await sql<{ org_id: string | null }>`SELECT org_id FROM app.queue_pauses`.execute(trx);
    t.same(
      seen.rows.map((r) => r.org_id),
      [null],
      "B sees only the pause for everyone",
    );
    const deleted = await sql`DELETE FROM app.queue_pauses WHERE org_id = ${orgA}`.execute(trx);
    t.equal(Number(deleted.numAffectedRows), 0);
  });
  await t.rejects(
    withOrg(db.handles.app, orgB, (trx) =>
      sql`INSERT INTO app.queue_pauses (queue, org_id, paused_by) VALUES ('test-job', ${orgA}, 'forged')`.execute(trx),
    ),
    { message: /row-level security/ },
  );
});
