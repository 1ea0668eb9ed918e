import { createHmac } from "node:crypto";
import { sql } from "kysely";
import t from "tap";
import { jobIdForIdempotencyKey } from "../../core/jobs/idempotency.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { captureLines } from "../helpers/logs.ts";
import { TEST_JWT_SECRET } from "../helpers/test-env.ts";
import { awayFromWindowEnd } from "../helpers/wait.ts";
import { bearer, startWorkerApp, tokenFor } from "../helpers/worker.ts";

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

t.test("jobs API", async (t) => {
  const db = await createTestDatabase(t);
  const logs = captureLines();
  const app = await startWorkerApp(t, db.url, {
    env: { MAX_PAYLOAD_BYTES: "2048", MAX_BULK_JOBS: "3", LOG_LEVEL: "info" },
    logStream: logs.stream,
  });
  const orgA = await createOrganisation(db, "A");
  const orgB = await createOrganisation(db, "B");
  const tokenA = await tokenFor(db, orgA);
  const countJobs = async () => {
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job`.execute(db.handles.owner);
    return Number(rows[0]!.n);
  };
  const post = (url: string, body: unknown, token = tokenA, headers: Record<string, string> = {}) =>
    app.inject({
      method: "POST",
      url,
      headers: { ...bearer(token), "content-type": "application/json", ...headers },
      payload: typeof body === "string" ? body : JSON.stringify(body),
    });

  await t.test("POST /api/jobs enqueues and GET /api/jobs/:id shows it", async (t) => {
    const created = await post("/api/jobs", { type: "test-job", payload: { echo: "hi" }, priority: 3, startAfter: 3600 });
    t.equal(created.statusCode, 201);
    const { id } = created.json();
    const got = await app.inject({ url: `/api/jobs/${id}`, headers: bearer(tokenA) });
    t.equal(got.statusCode, 200);
    t.match(got.json(), {
      id,
      type: "test-job",
      state: "created",
      priority: 3,
      attempts: 0,
      retryLimit: 2,
      payload: { echo: "hi" },
      output: null,
      error: null,
    });
    t.ok(new Date(got.json().startAfter).getTime() - Date.now() > 3500_000, "startAfter is an hour out");
    t.match(got.headers["x-request-id"], /\S+/, "responses carry a request id");
  });

  await t.test("bad input gets a clear 4xx and enqueues nothing", async (t) => {
    const before = await countJobs();
    const cases: [string, () => ReturnType<typeof post>, number, string, (body: Record<string, unknown>) => void][] = [
      ["malformed JSON", () => post("/api/jobs", '{"type": "test-job",'), 400, "malformed_json", () => {}],
      [
        "unknown type",
        () => post("/api/jobs", { type: "tset-job" }),
        400,
        "unknown_job_type",
        (b) => t.same(b.knownTypes, ["test-job", "test-upstream-call"]),
      ],
      [
        "schema failure",
        () => post("/api/jobs", { type: "test-job", payload: { delayMs: "slow", failOnAttempts: 0, colour: "red" } }),
        400,
        "invalid_payload",
        (b) =>
          t.same((b.fields as { field: string }[]).map((f) => f.field).sort(), [
            "payload.colour",
            "payload.delayMs",
            "payload.failOnAttempts",
          ]),
      ],
      [
        "envelope failure",
        () => post("/api/jobs", { type: "test-job", priority: 1.5, startAfter: "tomorrow", extra: 1 }),
        400,
        "invalid_request",
        (b) => t.same((b.fields as { field: string }[]).map((f) => f.field).sort(), ["extra", "priority", "startAfter"]),
      ],
      [
        "payload over MAX_PAYLOAD_BYTES",
        () => post("/api/jobs", { type: "test-job", payload: { echo: "x".repeat(3000) } }),
        413,
        "payload_too_large",
        (b) => t.equal(b.limitBytes, 2048),
      ],
      [
        "body far over the limit",
        () => post("/api/jobs", { type: "test-job", payload: { echo: "x".repeat(40_000) } }),
        413,
        "body_too_large",
        () => {},
      ],
      [
        "not JSON at all",
        () => post("/api/jobs", "type=test-job", tokenA, { "content-type": "application/x-www-form-urlencoded" }),
        415,
        "unsupported_media_type",
        () => {},
      ],
      [
        "bulk with one bad job",
        () => post("/api/jobs/bulk", { jobs: [{ type: "test-job" }, { type: "test-job", payload: { delayMs: -1 } }, { type: "nope" }] }),
        400,
        "invalid_jobs",
        (b) =>
          t.same(
            (b.jobs as { index: number; code: string }[]).map((j) => [j.index, j.code]),
            [
              [1, "invalid_payload"],
              [2, "unknown_job_type"],
            ],
          ),
      ],
      [
        "bulk over MAX_BULK_JOBS",
        () => post("/api/jobs/bulk", { jobs: [{ type: "test-job" }, { type: "test-job" }, { type: "test-job" }, { type: "test-job" }] }),
        400,
        "invalid_request",
        () => {},
      ],
      [
        "bulk payload too large",
        () => post("/api/jobs/bulk", { jobs: [{ type: "test-job" }, { type: "test-job", payload: { echo: "x".repeat(3000) } }] }),
        413,
        "payload_too_large",
        (b) => t.equal(b.index, 1),
      ],
      [
        "job id that is not a UUID",
        () => app.inject({ url: "/api/jobs/42", headers: bearer(tokenA) }) as ReturnType<typeof post>,
        400,
        "invalid_request",
        () => {},
      ],
    ];
    for (const [name, send, status, code, more] of cases) {
      const response = await send();
      t.equal(response.statusCode, status, `${name}: status ${status}`);
      const body = response.json();
      t.equal(body.code, code, `${name}: code ${code}`);
      t.ok(typeof body.message === "string" && body.message.length > 10, `${name}: says what is wrong (${body.message})`);
      more(body);
    }
    t.equal(await countJobs(), before, "no job was enqueued by any bad request");
  });

  await t.test("authentication: missing, expired, forged, alg none, wrong audience → 401; missing scope → 403", async (t) => {
    const before = await countJobs();
    const body = { type: "test-job" };
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "x", org: orgA, scopes: ["jobs:read", "jobs:write"], jti: "j1", aud: "gpt-platform:jobs-api" };
    const signed = (header: object, payload: object, secret = TEST_JWT_SECRET) => {
      const unsigned = `${base64url(header)}.${base64url(payload)}`;
      return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
    };
    const tokens: [string, string | undefined, string][] = [
      ["missing", undefined, "missing_token"],
      ["expired", signed({ alg: "HS256", typ: "JWT" }, { ...claims, iat: now - 7200, exp: now - 3600 }), "token_expired"],
      ["forged (other secret)", await tokenFor(db, orgA, { secret: "another-secret-another-secret-another" }), "invalid_token"],
      ["alg none", `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...claims, exp: now + 600 })}.`, "invalid_token"],
      ["wrong audience", signed({ alg: "HS256", typ: "JWT" }, { ...claims, aud: "someone-else", exp: now + 600 }), "invalid_token"],
      ["no audience at all", signed({ alg: "HS256", typ: "JWT" }, { ...claims, aud: undefined, exp: now + 600 }), "invalid_token"],
      ["claims missing org", signed({ alg: "HS256", typ: "JWT" }, { ...claims, org: undefined, exp: now + 600 }), "invalid_token"],
      ["garbage", "not-a-jwt", "invalid_token"],
    ];
    for (const [name, token, code] of tokens) {
      const response = await app.inject({
        method: "POST",
        url: "/api/jobs",
        headers: { "content-type": "application/json", ...(token ? bearer(token) : {}) },
        payload: JSON.stringify(body),
      });
      t.equal(response.statusCode, 401, `${name} → 401`);
      t.equal(response.json().code, code, `${name} → ${code}`);
      t.match(response.headers["www-authenticate"], /^Bearer/);
    }
    const readOnly = await tokenFor(db, orgA, { scopes: ["jobs:read"] });
    const forbidden = await post("/api/jobs", body, readOnly);
    t.equal(forbidden.statusCode, 403);
    t.match(forbidden.json(), { code: "missing_scope", requiredScope: "jobs:write" });
    t.equal(await countJobs(), before, "nothing enqueued");
    const leaked = logs.lines().filter((line) => line.includes(tokenA) || line.includes(readOnly));
    t.same(leaked, [], "no token appears in any log line");
  });

  await t.test("another organisation's job is a 404 for every route", async (t) => {
    const { id } = (await post("/api/jobs", { type: "test-job", startAfter: 3600 })).json();
    const tokenB = await tokenFor(db, orgB);
    const get = await app.inject({ url: `/api/jobs/${id}`, headers: bearer(tokenB) });
    t.equal(get.statusCode, 404);
    t.equal(get.json().code, "job_not_found");
    t.equal((await post(`/api/jobs/${id}/cancel`, undefined, tokenB)).statusCode, 404);
    t.equal((await post(`/api/jobs/${id}/retry`, undefined, tokenB)).statusCode, 404);
    const stillThere = await app.inject({ url: `/api/jobs/${id}`, headers: bearer(tokenA) });
    t.equal(stillThere.json().state, "created", "B's attempts changed nothing");
  });

  await t.test("idempotency: the same key again → 200 with the same id; a different payload → 409", async (t) => {
    const body = { type: "test-job", payload: { echo: "charge" }, idempotencyKey: "invoice-7", startAfter: 3600 };
    const first = await post("/api/jobs", body);
    const second = await post("/api/jobs", body);
    t.equal(first.statusCode, 201);
    t.equal(second.statusCode, 200);
    t.equal(second.json().id, first.json().id);
    t.equal(first.json().id, jobIdForIdempotencyKey(orgA, "test-job", "invoice-7"));
    const conflict = await post("/api/jobs", { ...body, payload: { echo: "other" } });
    t.equal(conflict.statusCode, 409);
    t.equal(conflict.json().code, "idempotency_conflict");
  });

  await t.test("bulk enqueue returns ids in order", async (t) => {
    const response = await post("/api/jobs/bulk", {
      jobs: [
        { type: "test-job", payload: { echo: 1 }, startAfter: 3600 },
        { type: "test-job", payload: { echo: 2 }, startAfter: 3600 },
      ],
    });
    t.equal(response.statusCode, 201);
    const { ids } = response.json();
    t.equal(ids.length, 2);
    const echoes = [];
    for (const id of ids) echoes.push((await app.inject({ url: `/api/jobs/${id}`, headers: bearer(tokenA) })).json().payload.echo);
    t.same(echoes, [1, 2]);
  });

  await t.test("cancel, then retry a cancelled job; finished states answer 409", async (t) => {
    const { id } = (await post("/api/jobs", { type: "test-job", startAfter: 3600 })).json();
    const cancelled = await post(`/api/jobs/${id}/cancel`, undefined);
    t.equal(cancelled.statusCode, 200);
    t.equal(cancelled.json().state, "cancelled");
    const again = await post(`/api/jobs/${id}/cancel`, undefined);
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, "not_cancellable");
    const retried = await post(`/api/jobs/${id}/retry`, undefined);
    t.equal(retried.statusCode, 200);
    t.equal(retried.json().state, "created");
    const notFailed = await post(`/api/jobs/${id}/retry`, undefined);
    t.equal(notFailed.statusCode, 409);
    t.equal(notFailed.json().code, "not_retryable");
  });

  await t.test("GET /api/queues shows only this organisation's jobs", async (t) => {
    const tokenB = await tokenFor(db, orgB);
    await post("/api/jobs", { type: "test-job", startAfter: 3600 }, tokenB);
    const a = (await app.inject({ url: "/api/queues", headers: bearer(tokenA) })).json();
    const b = (await app.inject({ url: "/api/queues", headers: bearer(tokenB) })).json();
    const { rows } = await sql<{
      n: string;
    }>`SELECT count(*) AS n FROM pgboss.job WHERE group_id = ${orgA} AND name = 'test-job' AND state = 'created'`.execute(db.handles.owner);
    t.equal(a.queues[0].type, "test-job");
    t.equal(a.queues[0].deferred + a.queues[0].queued, Number(rows[0]!.n), "A's count matches the database");
    t.equal(b.queues[0].deferred, 1, "B sees its one job");
  });

  await t.test("the OpenAPI document describes the routes and each job type's payload", async (t) => {
    const response = await app.inject({ url: "/api-docs" });
    t.equal(response.statusCode, 200);
    const doc = response.json();
    t.equal(doc.openapi, "3.1.0");
    t.ok(doc.paths["/api/jobs"].post && doc.paths["/api/jobs/{id}"].get && doc.paths["/api/queues"].get);
    t.ok(doc.components.schemas["test-job.payload"].properties.delayMs, "test-job payload schema is there");
    t.same(doc.components.schemas.CreateJob.oneOf[0].properties.type, { type: "string", const: "test-job" });
  });

  await t.test("unknown routes answer 404 in the same JSON shape", async (t) => {
    const response = await app.inject({ url: "/api/nothing" });
    t.equal(response.statusCode, 404);
    t.equal(response.json().code, "route_not_found");
  });
});

t.test("per-token rate limit → 429 with Retry-After, nothing enqueued", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url, { env: { API_RATE_LIMIT_PER_MINUTE: "3", API_RATE_LIMIT_PER_IP_PER_MINUTE: "1000" } });
  const org = await createOrganisation(db);
  const token = await tokenFor(db, org);
  await awayFromWindowEnd(60);
  const statuses: number[] = [];
  let last: Awaited<ReturnType<typeof app.inject>> | undefined;
  for (let i = 0; i < 5; i++) {
    last = await app.inject({
      method: "POST",
      url: "/api/jobs",
      headers: { ...bearer(token), "content-type": "application/json" },
      payload: JSON.stringify({ type: "test-job", startAfter: 3600 }),
    });
    statuses.push(last.statusCode);
  }
  t.same(statuses, [201, 201, 201, 429, 429]);
  t.equal(last!.json().code, "rate_limited");
  const retryAfter = Number(last!.headers["retry-after"]);
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job`.execute(db.handles.owner);
  t.equal(Number(rows[0]!.n), 3, "refused requests enqueued nothing");
  const otherToken = await app.inject({ method: "GET", url: "/api/queues", headers: bearer(await tokenFor(db, org)) });
  t.equal(otherToken.statusCode, 200, "another token has its own budget");
});

t.test("per-address rate limit applies before authentication", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url, { env: { API_RATE_LIMIT_PER_IP_PER_MINUTE: "2" } });
  await awayFromWindowEnd(60);
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await app.inject({ url: "/api/queues", headers: bearer("garbage") })).statusCode);
  t.same(statuses, [401, 401, 429], "a stranger guessing tokens is throttled");
});

t.test("rate limits use Redis when REDIS_URL is set", async (t) => {
  const db = await createTestDatabase(t);
  const { testEnv } = await import("../helpers/test-env.ts");
  const app = await startWorkerApp(t, db.url, { env: { REDIS_URL: testEnv.redisUrl, API_RATE_LIMIT_PER_MINUTE: "2" } });
  t.match(app.limits.limiter.storeKind, /^redis/);
  const token = await tokenFor(db, await createOrganisation(db));
  await awayFromWindowEnd(60);
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await app.inject({ url: "/api/queues", headers: bearer(token) })).statusCode);
  t.same(statuses, [200, 200, 429]);
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM ops.rate_limit_windows`.execute(db.handles.owner);
  t.equal(Number(rows[0]!.n), 0, "counters went to Redis, not Postgres");
});

t.test("API tokens: a revoked or unknown token stops working at once", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url);
  const org = await createOrganisation(db);
  const token = await tokenFor(db, org);
  const ask = (bearerToken: string) => app.inject({ url: "/api/queues", headers: bearer(bearerToken) });
  t.equal((await ask(token)).statusCode, 200, "a live token works (and is now cached)");

  const { apiTokenRevoke } = await import("../../core/auth/api-tokens.ts");
  const { withOrg } = await import("../../core/db/org-scope.ts");
  const jti = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).jti as string;
  t.ok(await withOrg(db.handles.app, org, (trx) => apiTokenRevoke(trx, jti)));
  const { waitFor } = await import("../helpers/wait.ts");
  const refused = await waitFor(
    "the revocation to reach the worker",
    async () => {
      const response = await ask(token);
      return response.statusCode === 401 ? response : undefined;
    },
    { timeoutMs: 2000, intervalMs: 10 },
  );
  t.equal(refused.json().code, "token_revoked");

  const { signApiToken } = await import("../../core/auth/api-token.ts");
  const { TEST_JWT_SECRET } = await import("../helpers/test-env.ts");
  const unregistered = signApiToken(TEST_JWT_SECRET, { orgId: org, subject: "x", scopes: ["jobs:read"], ttlSeconds: 600 });
  const unknown = await ask(unregistered);
  t.equal(unknown.statusCode, 401, "a correctly signed token with no row is refused");
  t.equal(unknown.json().code, "token_revoked");
});

t.test("a validly signed token naming the wrong organisation is refused, and does not lock the real one out", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url);
  const org = await createOrganisation(db);
  const other = await createOrganisation(db);
  const token = await tokenFor(db, org);
  const { jti } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { jti: string };
  const { signApiToken } = await import("../../core/auth/api-token.ts");
  // Someone holding JWT_SECRET (or a bug) makes a token with the real one's id but another organisation.
  const wrongOrg = signApiToken(TEST_JWT_SECRET, { orgId: other, subject: "x", scopes: ["jobs:read"], ttlSeconds: 600, jti });
  const ask = (bearerToken: string) => app.inject({ url: "/api/queues", headers: bearer(bearerToken) });
  const refused = await ask(wrongOrg);
  t.equal(refused.statusCode, 401, "the token's organisation must be its row's");
  t.equal((await ask(token)).statusCode, 200, "the real token keeps working right after");
  t.equal((await ask(wrongOrg)).statusCode, 401, "and the impostor stays refused once the real one is cached");
});

t.test("an API token stops working when its creator leaves the organisation", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url);
  const org = await createOrganisation(db);
  const { owner } = db.handles;
  const users = await Promise.all(
    ["boss@example.com", "leaver@example.com"].map((email) =>
      owner.insertInto("app.users").values({ email }).returning("id").executeTakeFirstOrThrow(),
    ),
  );
  await owner
    .insertInto("app.memberships")
    .values([
      { org_id: org, user_id: users[0]!.id, role: "owner" },
      { org_id: org, user_id: users[1]!.id, role: "admin" },
    ])
    .execute();
  const { apiTokenCreate } = await import("../../core/auth/api-tokens.ts");
  const { memberRemove } = await import("../../core/accounts/members.ts");
  const { withOrg } = await import("../../core/db/org-scope.ts");
  const { waitFor } = await import("../helpers/wait.ts");
  const { token } = await withOrg(db.handles.app, org, (trx) =>
    apiTokenCreate(trx, TEST_JWT_SECRET, {
      orgId: org,
      name: "leaver's",
      scopes: ["jobs:read"],
      ttlDays: 1,
      createdBy: users[1]!.id,
      subject: "leaver",
    }),
  );
  const ask = () => app.inject({ url: "/api/queues", headers: bearer(token) });
  t.equal((await ask()).statusCode, 200, "works while its creator is a member");
  t.ok(await withOrg(db.handles.app, org, (trx) => memberRemove(trx, users[1]!.id, "owner")));
  const refused = await waitFor("the revocation to reach the worker", async () => ((await ask()).statusCode === 401 ? true : undefined), {
    timeoutMs: 2000,
    intervalMs: 10,
  });
  t.ok(refused, "refused once the creator is removed");
});
