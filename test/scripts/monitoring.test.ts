import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import t, { type Test } from "tap";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { runScript, SCRIPTS_DIR } from "../helpers/scripts.ts";
import { waitFor } from "../helpers/wait.ts";
import { startWeb } from "../helpers/web-process.ts";
import { spawnWorker } from "../helpers/worker-process.ts";

const MONITORING = join(SCRIPTS_DIR, "monitoring");

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "gpt-monitoring-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Metric names a PromQL expression reads: identifiers left once labels, ranges, groupings and functions are gone. */
const PROMQL_WORDS = new Set([
  "sum",
  "max",
  "min",
  "avg",
  "count",
  "rate",
  "increase",
  "histogram_quantile",
  "clamp_min",
  "time",
  "absent",
  "round",
  "and",
  "or",
  "unless",
  "by",
  "without",
  "e",
]);
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without)\s*\([^)]*\)/g, "")
    .replace(/\b\d+(\.\d+)?(e-?\d+)?\b/g, "");
  return [...new Set(bare.match(/[a-zA-Z_:][\w:]*/g) ?? [])].filter((word) => !PROMQL_WORDS.has(word));
}

t.test("the rules validate and their unit tests pass (promtool)", async (t) => {
  const check = await runScript("monitoring-local.sh", ["--check"]);
  t.equal(check.code, 0, check.stderr);
  t.match(check.stderr, /alerts\.yml\s+SUCCESS: 11 rules found/);
  t.match(check.stderr, /Unit Testing: +alerts\.test\.yml\s+SUCCESS/);
  t.match(check.stderr, /Unit Testing: +slo-rules\.test\.yml\s+SUCCESS/);
  t.match(check.stderr, "prometheus.yml is valid prometheus config file syntax");
});

t.test("the rules' unit tests catch a wrong threshold", async (t) => {
  const dir = tempDir(t);
  cpSync(MONITORING, dir, { recursive: true });
  const alerts = readFileSync(join(dir, "alerts.yml"), "utf8");
  writeFileSync(join(dir, "alerts.yml"), alerts.replace('queue!~".+\\\\.dlq"})) > 500', 'queue!~".+\\\\.dlq"})) > 5000'));
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("promtool", ["test", "rules", "alerts.test.yml"], { cwd: dir });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("exit", (code) => resolve({ code, output }));
  });
  t.not(result.code, 0, "a backlog warning at 5000 instead of 500 fails the tests");
  t.match(result.output, "alertname: QueueBacklogWarning");
});

t.test("a real Prometheus scrapes a worker and the web app and evaluates the rules", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const workerPort = await freePort();
  const worker = spawnWorker(t, db, { PORT: String(workerPort) });
  await worker.ready();
  const web = await startWeb(t, db);
  // One job run, so the run-time and pickup histograms have series.
  const { rows } = await sql<{ id: string }>`SELECT ops.enqueue('test-job', ${orgId}, '{"echo": 1}') AS id`.execute(db.handles.owner);
  await waitFor("the job to complete", async () => {
    const done = await sql`SELECT 1 FROM pgboss.job WHERE id = ${rows[0]!.id} AND state = 'completed'`.execute(db.handles.owner);
    return done.rows.length === 1;
  });

  const port = await freePort();
  const prometheus = spawn(
    join(SCRIPTS_DIR, "monitoring-local.sh"),
    [
      "--port",
      String(port),
      "--worker",
      `127.0.0.1:${workerPort}`,
      "--web",
      new URL(web.url).host,
      "--scrape-interval",
      "1s",
      "--data",
      tempDir(t),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  prometheus.stderr.on("data", (c: Buffer) => (output += c.toString()));
  t.teardown(() => void prometheus.kill("SIGKILL"));
  const api = async <T>(path: string): Promise<T> => ((await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as { data: T }).data;

  const targets = await waitFor(
    `both targets to be up (prometheus output: ${output.slice(-400)})`,
    async () => {
      const data = await api<{ activeTargets: { labels: { job: string }; health: string }[] }>("/api/v1/targets");
      const up = data.activeTargets.filter((target) => target.health === "up").map((target) => target.labels.job);
      return up.includes("gpt-worker") && up.includes("gpt-web") ? up.sort() : false;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  t.same(targets, ["gpt-web", "gpt-worker"]);

  // Every metric the rules and the Grafana dashboard read is one the processes really export
  // (request metrics appear from the second scrape on: the first scrape is the first request).
  const groups = await api<{ groups: { rules: { name: string; query: string; type: string }[] }[] }>("/api/v1/rules");
  const rules = groups.groups.flatMap((g) => g.rules);
  t.equal(rules.length, 30, "every alert and recording rule is loaded");
  const recorded = new Set(rules.filter((r) => r.type === "recording").map((r) => r.name));
  const dashboard = JSON.parse(readFileSync(join(MONITORING, "grafana-dashboard.json"), "utf8")) as {
    panels: { targets: { expr: string }[] }[];
  };
  const read = new Set(
    [...rules.map((r) => r.query), ...dashboard.panels.flatMap((p) => p.targets.map((target) => target.expr))].flatMap(metricNames),
  );
  t.ok(read.has("jobs_depth") && read.has("http_request_duration_seconds_bucket"), "the names are found in the queries");
  let unknown: string[] = [];
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const series = await api<{ __name__: string }[]>(`/api/v1/series?match[]=${encodeURIComponent('{job=~"gpt-.*"}')}`);
    const exported = new Set(series.map((s) => s.__name__));
    unknown = [...read].filter((name) => !exported.has(name) && !recorded.has(name));
    if (unknown.length === 0) break;
  }
  t.same(unknown, [], "no rule or panel reads a metric nobody exports");

  // No backup was ever taken in this database: the backup alert is on its way (pending its 10 minutes).
  const alerts = await waitFor("BackupTooOld to be pending", async () => {
    const data = await api<{ alerts: { labels: { alertname: string }; state: string }[] }>("/api/v1/alerts");
    return data.alerts.find((a) => a.labels.alertname === "BackupTooOld") ?? false;
  });
  t.equal(alerts.state, "pending");
  const workers = await api<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent("max(workers_alive)")}`);
  t.equal(workers.result[0]?.value[1], "1", "the worker's heartbeat reaches Prometheus");
});

t.test("every alert links to a section of the runbook that exists", async (t) => {
  const runbook = readFileSync(fileURLToPath(new URL("../../docs/ops/runbook.md", import.meta.url)), "utf8");
  // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
  const anchors = new Set(
    [...runbook.matchAll(/^## (.+)$/gm)].map((m) =>
      m[1]!
        .toLowerCase()
        .replace(/[^\w\- ]/g, "")
        .replace(/ /g, "-"),
    ),
  );
  const rules = ["alerts.yml", "slo-rules.yml"].map((file) => readFileSync(join(MONITORING, file), "utf8")).join("\n");
  const links = [...rules.matchAll(/runbook: "?docs\/ops\/runbook\.md#([\w-]+)/g)].map((m) => m[1]!);
  t.ok(links.length >= 17, `every alert has a runbook link (${links.length})`);
  t.same(
    [...new Set(links)].filter((anchor) => !anchors.has(anchor)),
    [],
    "no link points at a missing section",
  );
});
