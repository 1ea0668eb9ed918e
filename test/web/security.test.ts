import { randomUUID } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import { sql } from "kysely";
import t from "tap";
import { workerInstanceRegister } from "../../core/jobs/worker-instances.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { pageText, signUpClient, WebClient } from "../helpers/web-client.ts";
import { startWeb } from "../helpers/web-process.ts";

const BUILD = fileURLToPath(new URL("../../build/web/server/index.js", import.meta.url));

/** Every route with an action, as a URL to post to (parameters filled with plausible values). */
async function actionUrls(): Promise<{ id: string; url: string }[]> {
  const build = (await import(pathToFileURL(BUILD).href)) as ServerBuild;
  const pathOf = (id: string): string => {
    const route = build.routes[id]!;
    const parent = route.parentId ? pathOf(route.parentId) : "";
    return [parent, route.path ?? ""].filter(Boolean).join("/");
  };
  return Object.entries(build.routes)
    .filter(([, route]) => route.module.action)
    .map(([id, route]) => {
      const path = `/${pathOf(id)}`.replace(/:id\b/, randomUUID()).replace(/:token\b/, "x".repeat(43));
      return { id, url: route.index ? `${path}?index` : path };
    });
}

/** Row counts of everything a form could change. */
async function snapshot(db: TestDatabase): Promise<Record<string, string>> {
  const { rows } = await sql<Record<string, string>>`
    SELECT (SELECT count(*) FROM app.users) AS users, (SELECT count(*) FROM app.organisations) AS organisations,
           (SELECT count(*) FROM app.memberships) AS memberships, (SELECT count(*) FROM app.sessions WHERE revoked_at IS NULL) AS live_sessions,
           (SELECT count(*) FROM app.invitations) AS invitations, (SELECT count(*) FROM app.api_tokens WHERE revoked_at IS NULL) AS live_tokens,
           (SELECT count(*) FROM app.agents) AS agents, (SELECT count(*) FROM app.password_resets) AS resets,
           (SELECT count(*) FROM pgboss.job) AS jobs, (SELECT string_agg(state::text, ',' ORDER BY id) FROM pgboss.job) AS job_states`.execute(
    db.handles.owner,
  );
  return rows[0]!;
}

t.test("every mutation refuses a request without its CSRF token or from another site", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com" });
  await ada.submit("/jobs/new", { echo: "keep me" });
  const routes = await actionUrls();
  t.ok(routes.length >= 15, `found the app's forms (${routes.map((r) => r.id).join(", ")})`);
  const before = await snapshot(db);
  for (const { id, url } of routes) {
    await ada.get("/dashboard");
    const missing = await ada.post(
      url,
      { intent: "delete", name: "x", email: "x@example.com", password: "whatever-long-password" },
      { csrf: false },
    );
    t.equal(missing.status, 403, `${id}: no token → 403`);
    t.match(pageText(missing.html), "The form's security token is missing", `${id}: says why`);
    const forged = await ada.post(url, { intent: "delete" }, { csrf: "forged-token-value-forged-token-value-xx" });
    t.equal(forged.status, 403, `${id}: a forged token → 403`);
    const foreign = await ada.post(url, { intent: "delete" }, { origin: "https://evil.example" });
    t.equal(foreign.status, 403, `${id}: another site's Origin → 403, even with a valid token`);
    t.match(pageText(foreign.html), "sent from another site");
  }
  t.same(await snapshot(db), before, "not one row changed");
  t.equal((await ada.get("/dashboard")).status, 200, "and ada is still signed in (sign-out was refused too)");
});

t.test("another organisation's things are not found, to read or to change", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com", organisationName: "Ada Org" });
  const eve = await signUpClient(web, { email: "eve@example.com", organisationName: "Eve Org" });
  const job = await ada.submit("/jobs/new", { echo: "private" });
  const jobPath = job.location!;
  t.match(jobPath, /^\/jobs\/[0-9a-f-]{36}$/);
  const agent = await ada.submit("/agents/new", {
    name: "Helper",
    model: "openai/gpt-4o-mini",
    systemPrompt: "Be brief.",
    temperature: "0.3",
    maxTokens: "500",
  });
  const agentPath = agent.location!;
  t.match(agentPath, /^\/agents\/[0-9a-f-]{36}$/);
  await ada.submit("/tokens", { name: "ada's token", scopes: "jobs:read", ttlDays: "7" });
  const adaToken = (await sql<{ id: string }>`SELECT id FROM app.api_tokens`.execute(db.handles.owner)).rows[0]!.id;
  const before = await snapshot(db);

  for (const path of [jobPath, agentPath]) {
    const read = await eve.get(path);
    t.equal(read.status, 404, `GET ${path} from another organisation → 404`);
    t.match(pageText(read.html), "There is nothing here, or it belongs to another organisation.");
    t.notMatch(read.html, "private", "nothing of the job leaks");
  }
  await eve.get("/dashboard");
  t.equal((await eve.post(jobPath, { intent: "cancel" })).status, 404, "cancelling it → 404");
  t.equal((await eve.post(jobPath, { intent: "retry" })).status, 404, "retrying it → 404");
  t.equal((await eve.post(agentPath, { intent: "delete" })).status, 404, "deleting the agent → 404");
  t.equal((await eve.post(agentPath, { intent: "pause" })).status, 404, "pausing the agent → 404");
  const revoke = await eve.post("/tokens", { intent: "revoke", id: adaToken });
  t.match(pageText(revoke.html), "That token was already revoked.", "revoking ada's token finds nothing to revoke");
  const list = await eve.get("/jobs");
  t.match(pageText(list.html), "No jobs match.", "eve's job list does not show ada's job");
  t.same(await snapshot(db), before, "nothing of ada's changed");
  t.equal((await ada.get(jobPath)).status, 200, "ada still sees her job");
});

t.test("security headers, private caching, and error pages that reveal nothing", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const page = await new WebClient(web.url).get("/signin");
  const csp = page.headers.get("content-security-policy") ?? "";
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  t.ok(nonce, "scripts need the response's nonce");
  t.match(csp, "default-src 'self'");
  t.match(csp, "frame-ancestors 'none'");
  t.match(csp, "object-src 'none'");
  t.match(csp, "form-action 'self'");
  const scripts = [...page.html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  t.ok(scripts.length > 0);
  t.ok(
    scripts.every((tag) => tag.includes(`nonce="${nonce}"`) || / src="\/assets\//.test(tag)),
    "every inline script carries the nonce",
  );
  t.equal(page.headers.get("x-frame-options"), "DENY");
  t.equal(page.headers.get("x-content-type-options"), "nosniff");
  t.equal(page.headers.get("referrer-policy"), "strict-origin-when-cross-origin");
  t.equal(page.headers.get("cache-control"), "no-store", "pages are never cached");
  t.notOk(page.headers.get("strict-transport-security"), "no HSTS over plain http");
  const again = await new WebClient(web.url).get("/signin");
  t.not(/'nonce-([^']+)'/.exec(again.headers.get("content-security-policy") ?? "")?.[1], nonce, "a fresh nonce per response");

  const asset = /href="(\/assets\/[^"]+\.css)"/.exec(page.html)?.[1];
  t.ok(asset, "the stylesheet is a hashed asset");
  const css = await fetch(new URL(asset!, web.url));
  t.equal(css.status, 200);
  t.match(css.headers.get("cache-control"), "immutable", "hashed assets are cached for good");
  t.equal(css.headers.get("x-content-type-options"), "nosniff");
  t.equal((await fetch(new URL("/assets/../../../etc/passwd", web.url))).status, 404, "no path escapes the build folder");

  const missing = await new WebClient(web.url).get("/no-such-page");
  t.equal(missing.status, 404);
  t.match(pageText(missing.html), "Not found");
  await waitFor("the 404's request line", () =>
    web.logLines().some((l) => l.msg === "request" && String(l.path).includes("/no-such-page")),
  );
  const about404 = web.logLines().filter((l) => JSON.stringify(l).includes("/no-such-page"));
  t.ok(about404.length > 0 && about404.every((l) => Number(l.level) < 50), "an ordinary 404 is never logged as an error");
  t.notOk(
    about404.some((l) => JSON.stringify(l).includes('"stack"')),
    "nor with a stack",
  );

  const https = await startWeb(t, db, { WEB_PUBLIC_URL: "https://app.example" });
  const secure = await new WebClient(https.url).get("/signin");
  t.match(secure.headers.get("strict-transport-security"), "max-age=31536000");
  t.match(secure.headers.getSetCookie().join("\n"), /gpt_csrf=[^;]+;.*Secure/, "cookies are Secure when served over https");
});

t.test("health endpoints report the database, Redis and workers, and hide internals", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db, { REDIS_URL: "redis://127.0.0.1:1" });
  const degraded = await fetch(new URL("/api/health", web.url));
  t.equal(degraded.status, 200, "serving, though degraded");
  t.match(await degraded.json(), {
    ready: true,
    status: "degraded",
    checks: {
      database: { ok: true },
      redis: { ok: false, detail: "unreachable (sign-in limits fall back to Postgres)" },
      workers: { ok: false },
    },
  });
  await workerInstanceRegister(db.handles.owner, {
    id: randomUUID(),
    hostname: "w1",
    pid: 1,
    version: "x",
    concurrency: 1,
    jobTypes: ["test-job"],
  });
  const workers = (await (await fetch(new URL("/api/health", web.url))).json()) as { checks: { workers: unknown } };
  t.same(workers.checks.workers, { ok: true, detail: "1 alive" });
  const ready = await fetch(new URL("/api/health/ready", web.url));
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: "ready" });

  const broken = await startWeb(t, db, { DATABASE_URL: db.url.replace(/\/[^/]+$/, "/gpt_no_such_database") });
  const down = await fetch(new URL("/api/health/ready", broken.url));
  t.equal(down.status, 503);
  const body = JSON.stringify(await down.json());
  t.match(body, "unreachable");
  t.notMatch(body, "gpt_no_such_database", "no connection details leak");
  const page = await new WebClient(broken.url).get("/signin");
  t.equal(page.status, 500);
  t.match(pageText(page.html), "Something went wrong");
  t.notMatch(page.html, /gpt_no_such_database|at .*\.ts:\d+/, "no error text or stack on the page");
  await waitFor("the failure in the log", () => broken.output().includes("gpt_no_such_database"));
  t.pass("the log has the details for an operator");
});

t.test("metrics: loopback only without METRICS_TOKEN, the token with it; requests counted by kind", async (t) => {
  const db = await createTestDatabase(t);
  const open = await startWeb(t, db);
  await (await fetch(`${open.url}/signin`)).text();
  const scraped = await fetch(`${open.url}/metrics/prometheus`);
  t.equal(scraped.status, 200, "loopback may read without a token");
  await scraped.text();
  // A request is counted when its response finishes on the server, which can come after the
  // client has read it: scrape until it shows (under load it did not, in the first scrape).
  const text = await waitFor("the page request counted", async () => {
    const body = await (await fetch(`${open.url}/metrics/prometheus`)).text();
    return /http_requests_total\{method="GET",kind="page",status="200"\}/.test(body) ? body : undefined;
  });
  t.match(text, /http_requests_total\{method="GET",kind="page",status="200"\} 1/);
  t.match(text, /http_request_duration_seconds_bucket\{le="0\.5",method="GET",kind="page"\} 1/);
  t.notMatch(text, "/signin", "paths are not labels");

  const token = "metrics-token-0123456789abcdef";
  const guarded = await startWeb(t, db, { METRICS_TOKEN: token });
  const refused = await fetch(`${guarded.url}/metrics/prometheus`);
  t.equal(refused.status, 401);
  t.same(await refused.json(), {
    error: { code: "metrics_token_required", message: "send Authorization: Bearer <METRICS_TOKEN> to read metrics" },
  });
  t.equal(
    (await fetch(`${guarded.url}/metrics/prometheus`, { headers: { authorization: "Bearer wrong-token-0123456789abcd" } })).status,
    401,
  );
  t.equal((await fetch(`${guarded.url}/metrics/prometheus`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
});
