// The baseline: raw pg-boss 12 on the benchmark's workload, tuned as in
// ../shared/notes/queue-benchmarks-extra.md (batch 200, two fetch loops, burst while batches come
// back full, a separate result per job), with LISTEN/NOTIFY on. Prints {"go": <epoch ms>} right
// before it starts working; runs until SIGTERM.
import { createHash } from "node:crypto";
import { PgBoss } from "pg-boss";

const url = process.argv[2];
const queue = process.argv[3] ?? "bench-raw";
if (!url) {
  console.error("usage: raw-pgboss-worker.ts <database url> [queue]");
  process.exit(64);
}

const boss = new PgBoss({ connectionString: url, schema: "pgboss", useListenNotify: true, max: 12 });
boss.on("error", (error: Error) => console.error(JSON.stringify({ error: error.message })));
await boss.start();
console.log(JSON.stringify({ go: performance.timeOrigin + performance.now() }));
await boss.work(
  queue,
  {
    batchSize: 200,
    localConcurrency: 2,
    burstWhenBatchFull: true,
    perJobResults: true,
    pollingIntervalSeconds: 2,
    notifyPollingIntervalSeconds: 2,
  },
  // The same result as the platform's test-job: the echoed value, the payload's sha256, the attempt.
  async (jobs) =>
    jobs.map((job) => ({
      id: job.id,
      status: "completed" as const,
      output: {
        echo: (job.data as { echo?: unknown }).echo,
        sha256: createHash("sha256").update(JSON.stringify(job.data)).digest("hex"),
        attempt: job.retryCount + 1,
      },
    })),
);
process.on("SIGTERM", () => {
  void boss.stop({ graceful: true, timeout: 5000 }).then(() => process.exit(0));
});
