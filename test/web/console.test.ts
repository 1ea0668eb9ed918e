import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { withQueueEngine } from "../../core/jobs/engine.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { pageText, signUpClient, type WebClient } from "../helpers/web-client.ts";
import { startWeb } from "../helpers/web-process.ts";
import { bearer, startWorkerApp } from "../helpers/worker.ts";

/** The state badge of a job's detail page. */
async function jobState(client: WebClient, path: string): Promise<string> {
  const page = await client.get(path);
  return /data-testid="job-state"[^>]*>([a-z]+)</.exec(page.html)?.[1] ?? `(HTTP ${page.status})`;
}

async function jobCount(db: TestDatabase): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job WHERE name = 'test-job'`.execute(db.handles.owner);
  return Number(rows[0]!.n);
}

/** The "Older jobs" link of a jobs list page, if any. */
function nextPageLink(html: string): string | null {
  return /href="(\/jobs\?[^"]*after=[^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, "&") ?? null;
}

/** Job links on a jobs list page, in order. */
function listedJobIds(html: string): string[] {
  return [...html.matchAll(/data-testid="job-row"[\s\S]*?href="\/jobs\/([0-9a-f-]{36})"/g)].map((m) => m[1]!);
}

/** Follows "Older jobs" from `path` to the last page: every job listed, and the links followed. */
async function walkPages(client: WebClient, path: string): Promise<{ ids: string[]; links: string[] }> {
  const ids: string[] = [];
  const links = [path];
  for (;;) {
    const page = await client.get(links.at(-1)!);
    ids.push(...listedJobIds(page.html));
    const next = nextPageLink(page.html);
    if (!next) return { ids, links };
    links.push(next);
  }
}

t.test("test jobs from the form run, fail, show their timeline, and are retried from the dashboard", async (t) => {
  const db = await createTestDatabase(t);
  await startWorkerApp(t, db.url, { runJobs: true, env: { JOB_ROLLUP_FLUSH_SECONDS: "1", SHUTDOWN_TIMEOUT_SECONDS: "1" } });
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com", organisationName: "Engines" });

  await t.test("bad knobs are refused field by field and enqueue nothing", async (t) => {
    const notNumber = await ada.submit("/jobs/new", { echo: "x", delayMs: "soon" });
    t.equal(notNumber.status, 400);
    t.match(pageText(notNumber.html), "Enter a whole number.");
    const negative = await ada.submit("/jobs/new", { echo: "x", delayMs: "-5" });
    t.equal(negative.status, 400);
    t.match(pageText(negative.html), /Too small|>=\s*0|at least 0/i, "the job type's own schema explains the delay field");
    t.equal(await jobCount(db), 0);
  });

  await t.test("a job completes and its page shows the output", async (t) => {
    const created = await ada.submit("/jobs/new", { echo: "hello from the form" });
    t.match(created.location, /^\/jobs\/[0-9a-f-]{36}$/);
    await waitFor("the job to complete", async () => (await jobState(ada, created.location!)) === "completed");
    const page = pageText((await ada.get(created.location!)).html);
    t.match(page, /"echo": "hello from the form"/);
    t.match(page, /"sha256": "[0-9a-f]{64}"/);
    t.match(page, "Attempt 1 completed");

    // What the worker records when a job goes back to waiting unspent (test/worker/rate-limits.test.ts).
    const jobId = created.location!.split("/").at(-1)!;
    await sql`INSERT INTO app.job_snoozes (org_id, job_id, n, attempt, snoozed_at, until_at, kind, reason)
      SELECT group_id::uuid, id, 1, 1, created_on, created_on + interval '1.5 seconds', 'handler', 'the upstream answered 429 Too Many Requests'
      FROM pgboss.job WHERE id = ${jobId}`.execute(db.handles.owner);
    const snoozed = pageText((await ada.get(created.location!)).html);
    t.match(snoozed, "Attempt 1 snoozed by its handler for 1.5 s, not spent: the upstream answered 429 Too Many Requests");
    t.ok(snoozed.indexOf("snoozed by its handler") < snoozed.indexOf("Attempt 1 completed"), "before the attempt it held back");
  });

  let failedPath = "";
  await t.test("a job that fails every attempt shows each failure, then lands on the dashboard", async (t) => {
    const created = await ada.submit("/jobs/new", { echo: "doomed", failOnAttempts: "1000", failMessage: "the flux capacitor is cold" });
    failedPath = created.location!;
    await waitFor("three failed attempts", async () => (await jobState(ada, failedPath)) === "failed", { timeoutMs: 30_000 });
    const page = pageText((await ada.get(failedPath)).html);
    t.match(page, /Attempt 1 failed after \d+ ms: the flux capacitor is cold/);
    t.match(page, /Attempt 2 failed after \d+ ms: the flux capacitor is cold/);
    t.match(page, /Attempt 3 failed after \d+ ms: the flux capacitor is cold; no retries left, sent to the dead-letter queue/);
    t.match(page, "Error (attempt 3)");
    const dashboard = await waitFor("the failure counted on the dashboard", async () => {
      const html = (await ada.get("/dashboard")).html;
      return /data-testid="failed-24h"[^>]*>1</.test(html) && /data-testid="completed-24h"[^>]*>1</.test(html) ? html : false;
    });
    t.match(pageText(dashboard), "the flux capacitor is cold", "recent failures show the error");
    t.match(dashboard, /data-testid="failure"/);
  });

  await t.test("retrying the failure from the dashboard sends the job back to work", async (t) => {
    const dashboard = await ada.get("/dashboard");
    const deadLetterId = /name="deadLetterJobId" value="([0-9a-f-]{36})"/.exec(dashboard.html)?.[1];
    t.ok(deadLetterId, "the failure has a retry button");
    const before = new Date();
    const retried = await ada.post("/dashboard", { deadLetterJobId: deadLetterId! });
    t.equal(retried.status, 200);
    t.match(pageText(retried.html), "Retrying: job");
    // It fails every attempt, so a quick worker may already have failed it again: either way it ran.
    const { rows } = await sql<{ state: string; started_on: Date | null }>`
      SELECT state::text, started_on FROM pgboss.job WHERE id = ${failedPath.split("/").at(-1)!}`.execute(db.handles.owner);
    t.ok(rows[0]!.state !== "failed" || rows[0]!.started_on! > before, `the job is back at work (${rows[0]!.state})`);
    t.notMatch((await ada.get("/dashboard")).html, deadLetterId!, "and no longer listed as a failure");
    const again = await ada.post("/dashboard", { deadLetterJobId: deadLetterId! });
    t.equal(again.status, 404, "retrying the same failure twice finds nothing the second time");
  });

  await t.test("bulk retry of a type's failures", async (t) => {
    await waitFor("the retried job to fail again", async () => (await jobState(ada, failedPath)) === "failed", { timeoutMs: 30_000 });
    await ada.get("/jobs");
    const bulk = await ada.post("/jobs?index", { type: "test-job" });
    t.match(pageText(bulk.html), "Retrying 1 failed test-job job.");
    const none = await ada.post("/jobs?index", { type: "test-job" });
    t.match(pageText(none.html), "No failed test-job jobs to retry.");
    const unknown = await ada.post("/jobs?index", { type: "no-such-type" });
    t.equal(unknown.status, 400);
  });

  await t.test("a running job can be cancelled and then retried", async (t) => {
    const created = await ada.submit("/jobs/new", { echo: "slow", delayMs: "600000" });
    await waitFor("the slow job to start", async () => (await jobState(ada, created.location!)) === "active");
    const cancelled = await ada.post(created.location!, { intent: "cancel" });
    t.match(pageText(cancelled.html), "Cancelled.");
    t.equal(await jobState(ada, created.location!), "cancelled");
    t.match(pageText((await ada.get(created.location!)).html), "Cancelled");
    const twice = await ada.post(created.location!, { intent: "cancel" });
    t.equal(twice.status, 409, "cancelling a finished job says why it cannot");
    const retried = await ada.post(created.location!, { intent: "retry" });
    t.match(pageText(retried.html), "Retrying.");
    t.not(await jobState(ada, created.location!), "cancelled");
  });
});

t.test("the jobs list filters and pages through an organisation's jobs", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com" });
  const orgId = (await sql<{ id: string }>`SELECT id FROM app.organisations`.execute(db.handles.owner)).rows[0]!.id;
  const seededAt = new Date();
  await withQueueEngine(db.url, async () => {
    const jobs = new JobClient();
    await withOrg(db.handles.app, orgId, (trx) =>
      jobs.enqueueMany(
        trx,
        Array.from({ length: 120 }, (_, i) => ({ type: "test-job", payload: { echo: `item-${i}` } })),
      ),
    );
    await withOrg(db.handles.app, orgId, (trx) => jobs.enqueue(trx, "test-job", { echo: "the NEEDLE in the haystack" }));
  });

  const { ids: seen, links } = await walkPages(ada, "/jobs");
  t.equal(links.length, 3, "121 jobs in pages of 50");
  t.equal(seen.length, 121);
  t.equal(new Set(seen).size, 121, "no job twice, none skipped");

  const needle = await ada.get("/jobs?text=needle");
  t.equal(listedJobIds(needle.html).length, 1, "text search in payloads, case-insensitive");
  t.equal(listedJobIds((await ada.get("/jobs?type=test-job&state=created")).html).length, 50, "type and state filters");
  t.equal(listedJobIds((await ada.get("/jobs?state=completed")).html).length, 0);
  t.match(pageText((await ada.get("/jobs?state=completed")).html), "No jobs match.");
  const before = new Date(seededAt.getTime() - 60_000).toISOString().slice(0, 16);
  t.equal(listedJobIds((await ada.get(`/jobs?to=${before}`)).html).length, 0, "time range");
  t.equal(listedJobIds((await ada.get(`/jobs?from=${before}&text=item-7`)).html).length, 11, "from + text: item-7 and item-70..79");
  const filtered = await ada.get("/jobs?text=item");
  t.match(nextPageLink(filtered.html), /^\/jobs\?text=item&after=/, "the next page keeps the filters");

  await t.test("state filters page through pg-boss's indexes, one organisation at a time", async (t) => {
    // Finish a few jobs as pg-boss would, and fail one of another organisation's.
    const oldest = await sql<{ job_id: string }>`SELECT job_id FROM app.job_refs ORDER BY created_at, job_id LIMIT 5`.execute(
      db.handles.owner,
    );
    const [a, b, c, d, e] = oldest.rows.map((r) => r.job_id);
    await sql`UPDATE pgboss.job SET state = 'failed', completed_on = now(), output = '{"message":"broken"}' WHERE id IN (${a}, ${b})`.execute(
      db.handles.owner,
    );
    await sql`UPDATE pgboss.job SET state = 'cancelled', completed_on = now() WHERE id IN (${c}, ${d}, ${e})`.execute(db.handles.owner);
    const bob = await signUpClient(web, { email: "bob@example.com" });
    const bobOrg = (await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name LIKE 'Org of bob%'`.execute(db.handles.owner))
      .rows[0]!.id;
    const bobsJob = await withOrg(db.handles.app, bobOrg, (trx) => new JobClient().enqueue(trx, "test-job", { echo: "bob" }));
    await sql`UPDATE pgboss.job SET state = 'failed', completed_on = now() WHERE id = ${bobsJob.id}`.execute(db.handles.owner);

    t.same(listedJobIds((await ada.get("/jobs?state=failed")).html).sort(), [a, b].sort(), "failed: exactly this organisation's two");
    t.same(listedJobIds((await ada.get("/jobs?state=cancelled")).html).sort(), [c, d, e].sort());
    t.same(listedJobIds((await bob.get("/jobs?state=failed")).html), [bobsJob.id], "bob sees only his");

    const { ids: waiting, links } = await walkPages(ada, "/jobs?state=created");
    t.equal(links.length, 3, "116 waiting jobs in pages of 50");
    t.ok(
      links.slice(1).every((link) => link.startsWith("/jobs?state=created&after=")),
      "each next page keeps the state",
    );
    t.equal(new Set(waiting).size, 116, "every waiting job once");
    t.notOk(
      waiting.some((id) => [a, b, c, d, e].includes(id)),
      "finished jobs are not listed as waiting",
    );
  });
});

t.test("agents: one schema checks the form; create, edit, pause and delete", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com" });
  const bad = await ada.submit("/agents/new", { name: "", model: "gpt4", systemPrompt: "", temperature: "3", maxTokens: "0" });
  t.equal(bad.status, 400);
  const text = pageText(bad.html);
  for (const message of [
    "Name the agent.",
    "Use a model id like openai/gpt-4o-mini.",
    "Write the system prompt.",
    "Enter a number from 0 to 2.",
    "Enter a whole number from 1 to 200,000.",
  ]) {
    t.match(text, message, `says: ${message}`);
  }
  t.match(bad.html, /aria-invalid="true"/, "failing fields are marked for screen readers");

  const fields = {
    name: "Support bot",
    model: "openai/gpt-4o-mini",
    systemPrompt: "Answer briefly.",
    temperature: "0.25",
    maxTokens: "800",
    knowledgeBaseEnabled: "on",
  };
  const created = await ada.submit("/agents/new", fields);
  t.match(created.location, /^\/agents\/[0-9a-f-]{36}$/);
  const path = created.location!;
  const { rows } = await sql<
    Record<string, unknown>
  >`SELECT name, model, system_prompt, temperature, max_tokens, knowledge_base_enabled, status FROM app.agents`.execute(db.handles.owner);
  t.match(rows, [
    {
      name: "Support bot",
      model: "openai/gpt-4o-mini",
      system_prompt: "Answer briefly.",
      max_tokens: 800,
      knowledge_base_enabled: true,
      status: "active",
    },
  ]);
  t.equal(Number(rows[0]!.temperature), 0.25);

  const duplicate = await ada.submit("/agents/new", fields);
  t.equal(duplicate.status, 400);
  t.match(pageText(duplicate.html), "Another agent already has this name.");

  const edited = await ada.submit(path, { ...fields, intent: "save", name: "Support bot v2", knowledgeBaseEnabled: "" });
  t.match(pageText(edited.html), "Saved.");
  t.match(pageText((await ada.get("/agents")).html), "Support bot v2 openai/gpt-4o-mini active no");
  t.match(pageText((await ada.submit(path, { intent: "pause" })).html), "Paused.");
  t.match(pageText((await ada.get("/agents")).html), "Support bot v2 openai/gpt-4o-mini paused");
  const deleted = await ada.submit(path, { intent: "delete" });
  t.equal(deleted.location, "/agents");
  t.equal((await ada.get(path)).status, 404);
});

t.test("API tokens: shown once, work against the jobs API, and stop working when revoked", async (t) => {
  const db = await createTestDatabase(t);
  const worker = await startWorkerApp(t, db.url);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com" });

  const refused = await ada.submit("/tokens", { name: "", ttlDays: "7" });
  t.equal(refused.status, 400);
  t.match(pageText(refused.html), "Name the token.");
  t.match(pageText(refused.html), "Choose at least one scope.");

  const created = await ada.submit("/tokens", { name: "CRM sync", scopes: ["jobs:read", "jobs:write"], ttlDays: "30" });
  const token = /data-testid="new-token">([^<]+)</.exec(created.html)?.[1];
  t.ok(token, "the new token is on the page once");
  t.notMatch((await ada.get("/tokens")).html, token!, "and never again");
  t.match(pageText((await ada.get("/tokens")).html), "CRM sync jobs:read, jobs:write");

  const use = () => worker.inject({ method: "GET", url: "/api/queues", headers: bearer(token!) });
  t.equal((await use()).statusCode, 200, "the jobs API accepts it");
  const id = /name="id" value="([0-9a-f-]{36})"/.exec((await ada.get("/tokens")).html)?.[1];
  const revoked = await ada.post("/tokens", { intent: "revoke", id: id! });
  t.match(pageText(revoked.html), "Revoked: the token stopped working.");
  const started = Date.now();
  const refusal = await waitFor(
    "the worker to refuse the revoked token",
    async () => {
      const response = await use();
      return response.statusCode === 401 ? response : false;
    },
    { timeoutMs: 2000, intervalMs: 5 },
  );
  t.match(refusal.json(), { code: "token_revoked", message: /revoked/ });
  t.ok(Date.now() - started < 1000, `refused within a second of revoking (${Date.now() - started} ms)`);
  t.match(pageText((await ada.get("/tokens")).html), "CRM sync jobs:read, jobs:write");
  t.match(pageText((await ada.get("/tokens")).html), "revoked");
});

t.test("the dashboard shows the platform's newest backup and restore drill, and what to do without them", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const client = await signUpClient(web, { email: "bea@example.com", organisationName: "Backups Ltd" });
  const line = async () =>
    /data-testid="data-protection"[^>]*>([\s\S]*?)<\/p>/.exec((await client.get("/dashboard")).html)?.[1]?.replace(/<!-- -->/g, "");

  t.equal(await line(), "No backup recorded yet (operators: scripts/backup-database.sh) · no restore drill yet (scripts/restore-drill.sh)");
  await sql`
    INSERT INTO ops.backups (file, sha256, size_bytes, snapshot_at, duration_seconds, host)
    VALUES ('gpt-20261122T020000Z.dump', repeat('a', 64), 1000, now() - interval '3 hours', 1.5, 'db-host')`.execute(db.handles.owner);
  await sql`
    INSERT INTO ops.restore_drills (backup_file, ok, failure, rto_seconds, rpo_seconds, tables_checked, host, started_at, finished_at)
    VALUES ('gpt-20261122T020000Z.dump', true, NULL, 12.5, 7200, 30, 'db-host', now() - interval '2 hours', now() - interval '2 hours')`.execute(
    db.handles.owner,
  );
  t.equal(await line(), "Newest backup: 3 h old · last restore drill passed 2 h ago, restored in 12.5 s");

  await sql`
    INSERT INTO ops.restore_drills (backup_file, ok, failure, tables_checked, host, started_at)
    VALUES ('gpt-20261122T020000Z.dump', false, 'checksum mismatch: the dump changed', 0, 'db-host', now())`.execute(db.handles.owner);
  t.match(await line(), "last restore drill FAILED 0 s ago: checksum mismatch: the dump changed");
});

t.test("owners pause and resume a job type from the dashboard; an operator's pause shows too", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com", organisationName: "Engines" });
  const status = async () =>
    pageText(/data-testid="status-test-job"[^>]*>([\s\S]*?)<\/td>/.exec((await ada.get("/dashboard")).html)?.[1] ?? "");
  t.match(await status(), /^running\s*Pause$/);

  const paused = await ada.post("/dashboard", { intent: "pause", type: "test-job" });
  t.equal(paused.status, 200);
  t.match(pageText(paused.html), "Paused test-job: its jobs wait until you resume it.");
  t.match(await status(), /^paused by your organisation\s*Resume$/);
  const { rows } = await sql<{ paused_by: string }>`SELECT paused_by FROM app.queue_pauses`.execute(db.handles.owner);
  t.same(
    rows.map((r) => r.paused_by),
    ["user:ada@example.com"],
  );

  await sql`SELECT ops.pause_queue('test-job', NULL, 'database upgrade')`.execute(db.handles.owner);
  t.match(await status(), /paused by the operators: database upgrade\s*paused by your organisation/);

  const resumed = await ada.post("/dashboard", { intent: "resume", type: "test-job" });
  t.match(pageText(resumed.html), "Resumed test-job.");
  t.match(await status(), /^paused by the operators: database upgrade\s*Pause$/, "the operators' pause stays until they lift it");

  const unknown = await ada.post("/dashboard", { intent: "pause", type: "no-such-type" });
  t.equal(unknown.status, 400);
});
