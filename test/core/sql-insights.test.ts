import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { withQueueEngine } from "../../core/jobs/engine.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { rollupAdd } from "../../core/jobs/rollups.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";

const run = promisify(execFile);
const DIR = fileURLToPath(new URL("../../sql/insights/", import.meta.url));

t.test("every insight query in sql/insights runs with psql -f and reads the live views", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  await withQueueEngine(db.url, async (boss) => {
    await withOrg(db.handles.app, orgId, (trx) => new JobClient(boss).enqueueMany(trx, [1, 2, 3].map((i) => ({ type: "test-job", payload: { echo: i } }))));
  });
  const buckets = Array.from({ length: 17 }, (_, i) => (i === 3 ? 4 : 0));
  await rollupAdd(db.handles.owner, [
    { minute: new Date(Math.floor(Date.now() / 60_000) * 60_000), queue: "test-job", orgId, completed: 3, failed: 1, retried: 2, runMsSum: 40, runMsMax: 9, runMsBuckets: buckets, pickupMsBuckets: buckets },
  ]);

  const files = readdirSync(DIR).filter((f) => f.endsWith(".sql")).sort();
  t.same(files, ["dead-letters.sql", "queue-depth.sql", "queue-stats-24h.sql", "throughput.sql", "workers-alive.sql"]);
  const outputs: Record<string, string> = {};
  for (const file of files) {
    const { stdout } = await run("psql", ["-X", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-A", "-F", "|", "-d", db.url, "-f", `${DIR}${file}`]);
    outputs[file] = stdout;
    t.pass(`${file} runs`);
  }
  t.match(outputs["queue-depth.sql"], /^test-job\|queued\|3\|/m, "three queued test-jobs");
  t.match(outputs["throughput.sql"], /\|test-job\|3\|1\|2$/m, "this hour's completed, failed, retried");
  t.match(outputs["queue-stats-24h.sql"], /^test-job\|3\|1\|2\|0\.2500\|/m, "failure rate 1 of 4");
});
