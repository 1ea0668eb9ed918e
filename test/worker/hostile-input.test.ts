// A corpus of hostile request bodies, as an attacker (or a broken client) would send them to the
// jobs API, the bulk API and SQL enqueue. Every one must be answered with a 4xx (an SQL error of a
// client class) whose message names the problem, none with a 5xx, and nothing may be enqueued.
import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { bearer, startWorkerApp, tokenFor } from "../helpers/worker.ts";

const MAX_PAYLOAD_BYTES = 4096;
const MAX_BULK_JOBS = 3;

interface Case {
  name: string;
  /** A value to send as JSON, a raw text body, or raw bytes. */
  body: unknown;
  raw?: boolean;
  route?: "/api/jobs" | "/api/jobs/bulk";
  contentType?: string | null;
  status: number;
  /** What the message must say about the problem. */
  says: RegExp;
}

const nest = (levels: number, open: string, close: string, inner = "1") => open.repeat(levels) + inner + close.repeat(levels);
const deepArrays = (levels: number) => nest(levels, "[", "]");
const deepObjects = (levels: number) => nest(levels, '{"a":', "}");
const job = (payload: string) => `{"type":"test-job","payload":${payload}}`;
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));

const encodings: Case[] = [
  {
    name: "invalid UTF-8 byte 0xff in a string",
    body: bytes('{"type":"test-job","payload":{"echo":"a', [0xff], 'b"}}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "overlong encoding of /",
    body: bytes('{"type":"test-job","payload":{"echo":"', [0xc0, 0xaf], '"}}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "truncated multi-byte sequence",
    body: bytes('{"type":"test-job","payload":{"echo":"', [0xe2, 0x82], '"}}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "lone continuation byte",
    body: bytes('{"type":"test-job","payload":{"echo":"', [0x80], '"}}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "Latin-1 é byte",
    body: bytes('{"type":"test-job","payload":{"echo":"caf', [0xe9], '"}}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "UTF-8 encoded surrogate (CESU-8)",
    body: bytes('{"type":"test-job","payload":{"echo":"', [0xed, 0xa0, 0x80], '"}}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "UTF-16LE body",
    body: Buffer.from(job('{"echo":1}'), "utf16le"),
    raw: true,
    status: 400,
    says: /not valid UTF-8|not valid JSON/,
  },
  {
    name: "invalid UTF-8 in a key",
    body: bytes('{"type":"test-job","payload":{"e', [0xfe], 'cho":1}}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "escaped NUL in a payload string",
    body: job('{"echo":"a\\u0000b"}'),
    raw: true,
    status: 400,
    says: /body\.payload\.echo contains a NUL character/,
  },
  { name: "escaped NUL in a payload key", body: job('{"ec\\u0000ho":1}'), raw: true, status: 400, says: /a key contains a NUL character/ },
  {
    name: "escaped NUL in the type",
    body: '{"type":"test-job\\u0000"}',
    raw: true,
    status: 400,
    says: /body\.type contains a NUL character/,
  },
  {
    name: "escaped NUL in the idempotency key",
    body: '{"type":"test-job","idempotencyKey":"k\\u0000"}',
    raw: true,
    status: 400,
    says: /idempotencyKey contains a NUL/,
  },
  { name: "lone high surrogate", body: job('{"echo":"\\ud800"}'), raw: true, status: 400, says: /unpaired UTF-16 surrogate/ },
  { name: "lone low surrogate", body: job('{"echo":"\\udfff"}'), raw: true, status: 400, says: /unpaired UTF-16 surrogate/ },
  {
    name: "surrogates in the wrong order",
    body: job('{"echo":"\\udc00\\ud800"}'),
    raw: true,
    status: 400,
    says: /unpaired UTF-16 surrogate/,
  },
  { name: "lone surrogate in a key", body: job('{"\\ud83d":1}'), raw: true, status: 400, says: /unpaired UTF-16 surrogate/ },
  {
    name: "lone surrogate deep in an array",
    body: job('{"echo":[[["ok","\\udbff"]]]}'),
    raw: true,
    status: 400,
    says: /body\.payload\.echo\.0\.0\.1 contains an unpaired/,
  },
  {
    name: "raw NUL byte inside a string",
    body: bytes('{"type":"test-job","payload":{"echo":"a', [0x00], 'b"}}'),
    raw: true,
    status: 400,
    says: /not valid JSON/,
  },
  {
    name: "raw control character inside a string",
    body: bytes('{"type":"test-job","payload":{"echo":"a', [0x07], '"}}'),
    raw: true,
    status: 400,
    says: /not valid JSON/,
  },
  {
    name: "charset latin1 declared",
    body: job("{}"),
    raw: true,
    contentType: "application/json; charset=iso-8859-1",
    status: 415,
    says: /must be UTF-8/,
  },
  {
    name: "charset utf-16 declared",
    body: job("{}"),
    raw: true,
    contentType: "application/json; charset=utf-16",
    status: 415,
    says: /must be UTF-8/,
  },
];

const depth: Case[] = [
  {
    name: "payload of 33 nested objects",
    body: job(`{"echo":${deepObjects(32)}}`),
    raw: true,
    status: 400,
    says: /nests deeper than 32 levels/,
  },
  {
    name: "payload of 33 nested arrays",
    body: job(`{"echo":${deepArrays(32)}}`),
    raw: true,
    status: 400,
    says: /nests deeper than 32 levels/,
  },
  {
    name: "arrays nested 100 deep",
    body: job(`{"echo":${deepArrays(100)}}`),
    raw: true,
    status: 400,
    says: /nests arrays and objects deeper than allowed/,
  },
  { name: "arrays nested 2,500 deep", body: job(`{"echo":${deepArrays(2500)}}`), raw: true, status: 400, says: /deeper than allowed/ },
  { name: "arrays nested 10,000 deep", body: job(`{"echo":${deepArrays(10_000)}}`), raw: true, status: 400, says: /deeper than allowed/ },
  { name: "objects nested 2,500 deep", body: job(deepObjects(2500)), raw: true, status: 400, says: /deeper than allowed/ },
  { name: "objects nested 3,000 deep", body: job(deepObjects(3000)), raw: true, status: 400, says: /deeper than allowed/ },
  {
    name: "mixed arrays and objects 3,000 deep",
    body: job(nest(1500, '{"a":[', "]}")),
    raw: true,
    status: 400,
    says: /deeper than allowed/,
  },
  { name: "unclosed arrays 15,000 deep", body: job(`{"echo":${"[".repeat(15_000)}`), raw: true, status: 400, says: /deeper than allowed/ },
  {
    name: "deep nesting in a non-payload field",
    body: `{"type":"test-job","priority":${deepArrays(2500)}}`,
    raw: true,
    status: 400,
    says: /body\.priority(\.0)+ nests arrays and objects deeper than allowed/,
  },
  {
    name: "deep nesting in bulk",
    route: "/api/jobs/bulk",
    body: `{"jobs":[${job(`{"echo":${deepArrays(2500)}}`)}]}`,
    raw: true,
    status: 400,
    says: /body\.jobs\.0\.payload\.echo(\.0)+ nests/,
  },
  {
    name: "33 levels in bulk",
    route: "/api/jobs/bulk",
    body: `{"jobs":[${job(`{"echo":${deepObjects(32)}}`)}]}`,
    raw: true,
    status: 400,
    says: /payload\.echo(\.a)+ nests .*32 levels/,
  },
];

const size: Case[] = [
  {
    name: "payload over MAX_PAYLOAD_BYTES",
    body: { type: "test-job", payload: { echo: "x".repeat(MAX_PAYLOAD_BYTES) } },
    status: 413,
    says: /limit is 4096 bytes/,
  },
  {
    name: "body far over the limit",
    body: { type: "test-job", payload: { echo: "x".repeat(100_000) } },
    status: 413,
    says: /larger than the limit/,
  },
  {
    name: "bulk body over its limit",
    route: "/api/jobs/bulk",
    body: { jobs: [{ type: "test-job", payload: { echo: "x".repeat(200_000) } }] },
    status: 413,
    says: /larger than the limit/,
  },
  {
    name: "a bulk job's payload over the limit",
    route: "/api/jobs/bulk",
    body: { jobs: [{ type: "test-job" }, { type: "test-job", payload: { echo: "y".repeat(MAX_PAYLOAD_BYTES) } }] },
    status: 413,
    says: /jobs\[1\]\.payload/,
  },
  { name: "type of 1,000 characters", body: { type: "t".repeat(1000) }, status: 400, says: /type/ },
  {
    name: "idempotency key of 1,000 characters",
    body: { type: "test-job", idempotencyKey: "k".repeat(1000) },
    status: 400,
    says: /idempotencyKey/,
  },
  {
    name: "300 unknown payload keys",
    body: { type: "test-job", payload: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])) },
    status: 400,
    says: /payload\.k0: is not a known field/,
  },
];

const duplicates: Case[] = [
  {
    name: "type twice, the last one valid",
    body: '{"type":"nope","type":"test-job"}',
    raw: true,
    status: 400,
    says: /key "type" more than once/,
  },
  {
    name: "payload key twice",
    body: job('{"echo":1,"echo":2}'),
    raw: true,
    status: 400,
    says: /body\.payload has the key "echo" more than once/,
  },
  {
    name: "payload twice",
    body: '{"type":"test-job","payload":{},"payload":{"echo":1}}',
    raw: true,
    status: 400,
    says: /key "payload" more than once/,
  },
  {
    name: "the same key spelled with an escape",
    body: '{"type":"nope","\\u0074ype":"test-job"}',
    raw: true,
    status: 400,
    says: /key "type" more than once/,
  },
  {
    name: "duplicate deep inside the payload",
    body: job('{"echo":{"a":[{"b":1,"b":2}]}}'),
    raw: true,
    status: 400,
    says: /body\.payload\.echo\.a\.0 has the key "b"/,
  },
  {
    name: "duplicate inside a bulk job",
    route: "/api/jobs/bulk",
    body: '{"jobs":[{"type":"test-job"},{"type":"nope","type":"test-job"}]}',
    raw: true,
    status: 400,
    says: /body\.jobs\.1 has the key "type"/,
  },
  {
    name: "jobs twice in bulk",
    route: "/api/jobs/bulk",
    body: '{"jobs":[],"jobs":[{"type":"test-job"}]}',
    raw: true,
    status: 400,
    says: /key "jobs" more than once/,
  },
  {
    name: "priority twice",
    body: '{"type":"test-job","priority":1,"priority":100}',
    raw: true,
    status: 400,
    says: /key "priority" more than once/,
  },
];

const types: Case[] = [
  ...[
    ["a number", 5],
    ["null", null],
    ["an array", ["test-job"]],
    ["an object", { name: "test-job" }],
    ["true", true],
    ["empty", ""],
  ].map(([what, type]) => ({ name: `type is ${what}`, body: { type }, status: 400, says: /type/ }) as Case),
  ...[
    ["null", null],
    ["an array", [1]],
    ["a string", "x"],
    ["a number", 7],
    ["true", true],
  ].map(
    ([what, payload]) =>
      ({ name: `payload is ${what}`, body: { type: "test-job", payload }, status: 400, says: /payload: must be a JSON object/ }) as Case,
  ),
  ...[
    ["a string", "5"],
    ["a fraction", 1.5],
    ["huge", 1e308],
    ["very negative", -1e9],
    ["an object", {}],
  ].map(
    ([what, priority]) => ({ name: `priority is ${what}`, body: { type: "test-job", priority }, status: 400, says: /priority/ }) as Case,
  ),
  ...[
    ["negative", -1],
    ["over a year", 1e12],
    ["a word", "tomorrow"],
    ["a date without a zone", "2030-01-01T00:00:00"],
    ["an object", { at: 1 }],
    ["true", true],
  ].map(
    ([what, startAfter]) =>
      ({ name: `startAfter is ${what}`, body: { type: "test-job", startAfter }, status: 400, says: /startAfter/ }) as Case,
  ),
  ...[
    ["empty", ""],
    ["a number", 42],
    ["with a space", "a b"],
    ["with a newline", "a\nb"],
    ["non-ASCII", "ключ"],
  ].map(
    ([what, idempotencyKey]) =>
      ({ name: `idempotencyKey is ${what}`, body: { type: "test-job", idempotencyKey }, status: 400, says: /idempotencyKey/ }) as Case,
  ),
  { name: "body is an array", body: [{ type: "test-job" }], status: 400, says: /expected object/ },
  { name: "body is a string", body: '"test-job"', raw: true, status: 400, says: /expected object/ },
  { name: "body is a number", body: "42", raw: true, status: 400, says: /expected object/ },
  { name: "body is null", body: "null", raw: true, status: 400, says: /expected object/ },
  { name: "body is true", body: "true", raw: true, status: 400, says: /expected object/ },
];

const options: Case[] = [
  {
    name: "an orgId naming another organisation",
    body: { type: "test-job", orgId: "00000000-0000-4000-8000-000000000000" },
    status: 400,
    says: /orgId: is not a known field/,
  },
  { name: "a pg-boss group", body: { type: "test-job", group: { id: "x" } }, status: 400, says: /group: is not a known field/ },
  { name: "a singletonKey", body: { type: "test-job", singletonKey: "s" }, status: 400, says: /singletonKey: is not a known field/ },
  {
    name: "an explicit job id",
    body: { type: "test-job", id: "00000000-0000-4000-8000-000000000000" },
    status: 400,
    says: /id: is not a known field/,
  },
  { name: "retryLimit", body: { type: "test-job", retryLimit: 100 }, status: 400, says: /retryLimit: is not a known field/ },
  {
    name: "__proto__ at the top",
    body: '{"type":"test-job","__proto__":{"admin":true}}',
    raw: true,
    status: 400,
    says: /not valid JSON: .*__proto__|prototype/,
  },
  { name: "__proto__ in the payload", body: job('{"__proto__":{"polluted":1}}'), raw: true, status: 400, says: /prototype|__proto__/ },
  {
    name: "constructor.prototype in the payload",
    body: job('{"constructor":{"prototype":{"x":1}}}'),
    raw: true,
    status: 400,
    says: /prototype/,
  },
];

const payloads: Case[] = [
  {
    name: "an unknown payload key",
    body: { type: "test-job", payload: { colour: "red" } },
    status: 400,
    says: /payload\.colour: is not a known field/,
  },
  { name: "delayMs negative", body: { type: "test-job", payload: { delayMs: -1 } }, status: 400, says: /payload\.delayMs/ },
  { name: "delayMs a string", body: { type: "test-job", payload: { delayMs: "1s" } }, status: 400, says: /payload\.delayMs/ },
  { name: "failOnAttempts zero", body: { type: "test-job", payload: { failOnAttempts: 0 } }, status: 400, says: /payload\.failOnAttempts/ },
  { name: "type in capitals", body: { type: "TEST-JOB" }, status: 400, says: /unknown job type "TEST-JOB"; known types: test-job/ },
  { name: "type with a trailing space", body: { type: "test-job " }, status: 400, says: /unknown job type/ },
  { name: "a dead-letter queue as the type", body: { type: "test-job.dlq" }, status: 400, says: /unknown job type "test-job.dlq"/ },
  { name: "a path as the type", body: { type: "../test-job" }, status: 400, says: /unknown job type/ },
  { name: "SQL in the type", body: { type: "test-job'; DROP TABLE pgboss.job; --" }, status: 400, says: /unknown job type/ },
];

const headers: Case[] = [
  { name: "text/plain", body: job("{}"), raw: true, contentType: "text/plain", status: 415, says: /Content-Type: application\/json/ },
  {
    name: "form encoded",
    body: "type=test-job",
    raw: true,
    contentType: "application/x-www-form-urlencoded",
    status: 415,
    says: /Content-Type: application\/json/,
  },
  {
    name: "multipart",
    body: "--x\r\n\r\n--x--",
    raw: true,
    contentType: "multipart/form-data; boundary=x",
    status: 415,
    says: /Content-Type: application\/json/,
  },
  {
    name: "application/xml",
    body: "<job/>",
    raw: true,
    contentType: "application/xml",
    status: 415,
    says: /Content-Type: application\/json/,
  },
  { name: "no Content-Type", body: job("{}"), raw: true, contentType: null, status: 415, says: /Content-Type: application\/json/ },
  { name: "an empty body as JSON", body: "", raw: true, status: 400, says: /expected object/ },
  { name: "whitespace only", body: "  \n ", raw: true, status: 400, says: /expected object/ },
  { name: "trailing comma", body: '{"type":"test-job",}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "single quotes", body: "{'type':'test-job'}", raw: true, status: 400, says: /not valid JSON/ },
  { name: "a comment", body: '{"type":"test-job" /* hi */}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "NaN", body: '{"type":"test-job","priority":NaN}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "Infinity", body: '{"type":"test-job","priority":Infinity}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "an unquoted key", body: '{type:"test-job"}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "truncated", body: '{"type":"test-job","payload":{"echo"', raw: true, status: 400, says: /not valid JSON/ },
  { name: "two documents", body: '{"type":"test-job"} {"type":"test-job"}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "a hex number", body: '{"type":"test-job","priority":0x10}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "a leading zero", body: '{"type":"test-job","priority":01}', raw: true, status: 400, says: /not valid JSON/ },
  { name: "an unterminated string", body: '{"type":"test-job', raw: true, status: 400, says: /not valid JSON/ },
];

const bulk: Case[] = [
  { name: "jobs is not an array", route: "/api/jobs/bulk", body: { jobs: { type: "test-job" } }, status: 400, says: /jobs/ },
  { name: "jobs is empty", route: "/api/jobs/bulk", body: { jobs: [] }, status: 400, says: /at least one job/ },
  { name: "jobs is null", route: "/api/jobs/bulk", body: { jobs: null }, status: 400, says: /jobs/ },
  { name: "no jobs key", route: "/api/jobs/bulk", body: {}, status: 400, says: /jobs/ },
  {
    name: "more than MAX_BULK_JOBS",
    route: "/api/jobs/bulk",
    body: { jobs: Array.from({ length: MAX_BULK_JOBS + 1 }, () => ({ type: "test-job" })) },
    status: 400,
    says: /at most 3 jobs/,
  },
  { name: "a job that is a string", route: "/api/jobs/bulk", body: { jobs: ["test-job"] }, status: 400, says: /jobs\.0/ },
  { name: "a job without a type", route: "/api/jobs/bulk", body: { jobs: [{ payload: {} }] }, status: 400, says: /jobs\.0\.type/ },
  {
    name: "a valid job with an invalid one",
    route: "/api/jobs/bulk",
    body: { jobs: [{ type: "test-job" }, { type: "test-job", payload: { delayMs: -5 } }] },
    status: 400,
    says: /job\(s\) rejected; nothing was enqueued/,
  },
  {
    name: "an unknown type among valid ones",
    route: "/api/jobs/bulk",
    body: { jobs: [{ type: "test-job" }, { type: "nope" }] },
    status: 400,
    says: /rejected/,
  },
  {
    name: "one idempotency key twice",
    route: "/api/jobs/bulk",
    body: {
      jobs: [
        { type: "test-job", idempotencyKey: "k" },
        { type: "test-job", idempotencyKey: "k" },
      ],
    },
    status: 400,
    says: /rejected/,
  },
  {
    name: "a NUL in a bulk payload",
    route: "/api/jobs/bulk",
    body: `{"jobs":[${job('{"echo":"\\u0000"}')}]}`,
    raw: true,
    status: 400,
    says: /body\.jobs\.0\.payload\.echo contains a NUL/,
  },
  {
    name: "a lone surrogate in bulk",
    route: "/api/jobs/bulk",
    body: `{"jobs":[${job('{"echo":"\\ud800"}')}]}`,
    raw: true,
    status: 400,
    says: /unpaired/,
  },
  {
    name: "invalid UTF-8 in bulk",
    route: "/api/jobs/bulk",
    body: bytes('{"jobs":[{"type":"test-job","payload":{"echo":"', [0xff], '"}}]}'),
    raw: true,
    status: 400,
    says: /not valid UTF-8/,
  },
  {
    name: "a null payload in bulk",
    route: "/api/jobs/bulk",
    body: { jobs: [{ type: "test-job", payload: null }] },
    status: 400,
    says: /payload: must be a JSON object/,
  },
  {
    name: "an orgId in a bulk job",
    route: "/api/jobs/bulk",
    body: { jobs: [{ type: "test-job", orgId: "00000000-0000-4000-8000-000000000000" }] },
    status: 400,
    says: /orgId: is not a known field/,
  },
  {
    name: "an extra key beside jobs",
    route: "/api/jobs/bulk",
    body: { jobs: [{ type: "test-job" }], atomic: false },
    status: 400,
    says: /atomic: is not a known field/,
  },
  {
    name: "text/plain to bulk",
    route: "/api/jobs/bulk",
    body: '{"jobs":[]}',
    raw: true,
    contentType: "text/plain",
    status: 415,
    says: /Content-Type: application\/json/,
  },
];

const corpus = [...encodings, ...depth, ...size, ...duplicates, ...types, ...options, ...payloads, ...headers, ...bulk];

t.test("hostile bodies are answered with a 4xx that names the problem, and nothing is enqueued", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url, {
    env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES), MAX_BULK_JOBS: String(MAX_BULK_JOBS), MAX_BULK_BODY_BYTES: "65536" },
  });
  const orgId = await createOrganisation(db);
  const token = await tokenFor(db, orgId);
  const countJobs = async () =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job`.execute(db.handles.owner)).rows[0]!.n);

  t.ok(corpus.length >= 100, `${corpus.length} HTTP bodies`);
  const before = await countJobs();
  for (const item of corpus) {
    const payload = item.raw ? (item.body as string | Buffer) : JSON.stringify(item.body);
    const contentType = item.contentType === undefined ? "application/json" : item.contentType;
    const response = await app.inject({
      method: "POST",
      url: item.route ?? "/api/jobs",
      headers: { ...bearer(token), ...(contentType === null ? {} : { "content-type": contentType }) },
      payload,
    });
    const body = response.json() as { code?: string; message?: string };
    t.equal(
      response.statusCode,
      item.status,
      `${item.name}: ${item.status} (got ${response.statusCode} ${body.code}: ${body.message?.slice(0, 160)})`,
    );
    t.match(body.message, item.says, `${item.name}: the message names the problem`);
  }
  t.equal(await countJobs(), before, "not one of them enqueued anything");

  // A control: the limits are limits, not refusals of everything near them.
  const atLimit = await app.inject({
    method: "POST",
    url: "/api/jobs",
    headers: { ...bearer(token), "content-type": "application/json; charset=utf-8" },
    payload: job(`{"echo":${deepArrays(31)}}`),
  });
  t.equal(atLimit.statusCode, 201, "a payload nested exactly 32 levels, sent as UTF-8, is accepted");
});

t.test("hostile SQL enqueue is refused with a client error that names the problem, and nothing is enqueued", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const other = await createOrganisation(db);
  const countJobs = async () =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job`.execute(db.handles.owner)).rows[0]!.n);
  const tenant: [string, string, RegExp][] = [
    ["unknown type", `SELECT app.enqueue('nope', '{}')`, /unknown job type "nope"/],
    ["NULL type", `SELECT app.enqueue(NULL, '{}')`, /unknown job type|type/],
    ["payload an array", `SELECT app.enqueue('test-job', '[1]')`, /payload: expected a JSON object, got array/],
    ["payload a string", `SELECT app.enqueue('test-job', '"x"')`, /payload: expected a JSON object, got string/],
    ["payload JSON null", `SELECT app.enqueue('test-job', 'null')`, /payload: expected a JSON object/],
    ["an unknown payload key", `SELECT app.enqueue('test-job', '{"colour": "red"}')`, /payload\.colour: is not a known field/],
    ["a payload value of the wrong type", `SELECT app.enqueue('test-job', '{"delayMs": "soon"}')`, /payload\.delayMs: expected integer/],
    ["a payload nested 33 levels", `SELECT app.enqueue('test-job', '{"echo": ${deepArrays(32)}}')`, /nests deeper than 32 levels/],
    ["an unknown option", `SELECT app.enqueue('test-job', '{}', '{"retryLimit": 100}')`, /unknown option\(s\) retryLimit/],
    ["options not an object", `SELECT app.enqueue('test-job', '{}', '[]')`, /options: expected a JSON object/],
    ["priority a fraction", `SELECT app.enqueue('test-job', '{}', '{"priority": 1.5}')`, /options\.priority: must be an integer/],
    ["startAfter a word", `SELECT app.enqueue('test-job', '{}', '{"startAfter": "soonish"}')`, /options\.startAfter/],
    ["startAfter negative", `SELECT app.enqueue('test-job', '{}', '{"startAfter": -5}')`, /options\.startAfter/],
    [
      "an empty idempotency key",
      `SELECT app.enqueue('test-job', '{}', '{"idempotencyKey": ""}')`,
      /idempotencyKey: must be a non-empty string/,
    ],
    ["jobs not an array", `SELECT * FROM app.enqueue_many('{"type": "test-job"}')`, /must be a JSON array/],
    ["jobs NULL", `SELECT * FROM app.enqueue_many(NULL)`, /must be a JSON array/],
    ["a job that is a string", `SELECT * FROM app.enqueue_many('["test-job"]')`, /\[1\] expected a JSON object, got string/],
    ["a job without a type", `SELECT * FROM app.enqueue_many('[{"payload": {}}]')`, /\[1\] type: must be a job type name/],
    [
      "a job for another organisation",
      `SELECT * FROM app.enqueue_many('[{"type": "test-job", "org_id": "${other}"}]')`,
      /name an organisation other than the transaction's/,
    ],
    [
      "an org_id that is not a UUID",
      `SELECT * FROM app.enqueue_many('[{"type": "test-job", "org_id": "me"}]')`,
      /name an organisation other than/,
    ],
    [
      "a valid job with an invalid one",
      `SELECT * FROM app.enqueue_many('[{"type": "test-job"}, {"type": "test-job", "payload": {"delayMs": -1}}]')`,
      /1 of 2 job\(s\) rejected; nothing was enqueued: \[2\] payload\.delayMs/,
    ],
    [
      "one idempotency key twice",
      `SELECT * FROM app.enqueue_many('[{"type": "test-job", "options": {"idempotencyKey": "k"}}, {"type": "test-job", "options": {"idempotencyKey": "k"}}]')`,
      /\[2\] repeats the idempotency key of job \[1\]/,
    ],
    [
      "a NUL, which jsonb itself refuses",
      `SELECT app.enqueue('test-job', '{"echo": "\\u0000"}')`,
      /unsupported Unicode escape sequence|\\u0000/,
    ],
    [
      "a lone surrogate, which jsonb itself refuses",
      `SELECT app.enqueue('test-job', '{"echo": "\\ud800"}')`,
      /invalid input syntax for type json/,
    ],
  ];
  const before = await countJobs();
  for (const [name, statement, says] of tenant) {
    const error = await withOrg(db.handles.app, orgId, (trx) => sql.raw(statement).execute(trx)).then(
      () => undefined,
      (e: { code?: string; message: string }) => e,
    );
    t.ok(error, `${name}: refused`);
    // Client-error classes: 22 data exception, 23 constraint, 42 access or syntax; never XX (internal) or 5x.
    t.match(error?.code, /^(22|23|42)/, `${name}: a client error (${error?.code})`);
    t.match(error?.message, says, `${name}: ${error?.message.slice(0, 160)}`);
  }
  const operator: [string, string, RegExp][] = [
    ["an organisation that does not exist", `SELECT ops.enqueue('test-job', gen_random_uuid(), '{}')`, /no organisation has id/],
    ["no organisation", `SELECT ops.enqueue('test-job', NULL, '{}')`, /every job needs its organisation/],
    [
      "a payload nested 33 levels",
      `SELECT * FROM ops.enqueue_many('[{"type": "test-job", "org_id": "${orgId}", "payload": {"echo": ${deepArrays(32)}}}]')`,
      /nests deeper than 32/,
    ],
  ];
  for (const [name, statement, says] of operator) {
    const error = await sql
      .raw(statement)
      .execute(db.handles.owner)
      .then(
        () => undefined,
        (e: { code?: string; message: string }) => e,
      );
    t.match(error?.code, /^(22|23|42)/, `operator, ${name}: a client error (${error?.code})`);
    t.match(error?.message, says, `operator, ${name}: ${error?.message.slice(0, 160)}`);
  }
  t.equal(await countJobs(), before, "nothing was enqueued");
});
