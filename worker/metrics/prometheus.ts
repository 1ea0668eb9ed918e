import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { LATENCY_BUCKET_BOUNDS_MS } from "../../core/jobs/rollups.ts";
import type { BackupStatus } from "../../core/ops/backup-status.ts";
import { LatencyHistogram } from "./latency-histogram.ts";

/**
 * The worker's Prometheus metrics. Names are part of the platform's interface (dashboards and
 * alert rules use them); they are listed in docs/reference/metrics.md. Counters and histograms are
 * per process: aggregate across replicas with sum() in PromQL.
 */
export interface WorkerMetrics {
  registry: Registry;
  jobsCompleted: Counter<"queue">;
  jobsFailed: Counter<"queue">;
  jobsRetried: Counter<"queue">;
  jobRunSeconds: LatencyHistogram;
  jobPickupSeconds: LatencyHistogram;
  jobsDepth: Gauge<"queue" | "state">;
  workersAlive: Gauge;
  backupLastSuccess: Gauge;
  restoreDrillLastSuccess: Gauge;
  jobsInFlight: Gauge<"queue">;
  /** Set by the job runner once it runs; the in-flight gauge reads it at scrape time. */
  readInFlight: () => Map<string, number>;
  httpRequests: Counter<"method" | "route" | "status">;
  httpRequestSeconds: Histogram<"method" | "route">;
}

const SECONDS_BUCKETS = LATENCY_BUCKET_BOUNDS_MS.map((ms) => ms / 1000);

/** Figures read from the database at scrape time, so every replica reports the same truth. */
export interface MetricSources {
  depth: () => Promise<{ queue: string; state: string; count: number }[]>;
  workersAlive: () => Promise<number>;
  backupStatus: () => Promise<BackupStatus>;
}

/** Seconds since the epoch, 0 for never: "time() - metric" is then huge and age alerts fire. */
const epochSeconds = (at: Date | null) => (at ? at.getTime() / 1000 : 0);

/**
 * `queues`: the catalogue's queue names. Their counters start at zero, so rate() and the error-rate
 * alerts see a series from the first scrape rather than only after the first failure.
 */
/** Two gauges read the same row: one query per scrape, shared for a second. */
function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > 1000) last = { at: now, value: read() };
    return last.value;
  };
}

export function createWorkerMetrics(sources: MetricSources, queues: readonly string[]): WorkerMetrics {
  const backupStatus = oncePerScrape(sources.backupStatus);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics: WorkerMetrics = {
    readInFlight: () => new Map(),
    registry,
    jobsCompleted: new Counter({
      name: "jobs_completed_total",
      help: "Jobs that completed.",
      labelNames: ["queue"],
      registers: [registry],
    }),
    jobsFailed: new Counter({
      name: "jobs_failed_total",
      help: "Jobs that failed for the last time (sent to the dead-letter queue).",
      labelNames: ["queue"],
      registers: [registry],
    }),
    jobsRetried: new Counter({
      name: "jobs_retried_total",
      help: "Job attempts that failed and were scheduled to run again.",
      labelNames: ["queue"],
      registers: [registry],
    }),
    jobRunSeconds: new LatencyHistogram({
      name: "job_run_duration_seconds",
      help: "Time a handler took per job, successful or not.",
      registers: [registry],
    }),
    jobPickupSeconds: new LatencyHistogram({
      name: "job_pickup_latency_seconds",
      help: "Time from when a job could start (created or retry due) to when a worker claimed it.",
      registers: [registry],
    }),
    jobsDepth: new Gauge({
      name: "jobs_depth",
      help: "Unfinished jobs per queue and state (queued, deferred, retry, active), read from the database at scrape time.",
      labelNames: ["queue", "state"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await sources.depth()) this.set({ queue: row.queue, state: row.state }, row.count);
      },
    }),
    workersAlive: new Gauge({
      name: "workers_alive",
      help: "Worker processes with a heartbeat in ops.worker_instances in the last 30 seconds, read at scrape time.",
      registers: [registry],
      async collect() {
        this.set(await sources.workersAlive());
      },
    }),
    backupLastSuccess: new Gauge({
      name: "backup_last_success_timestamp_seconds",
      help: "Snapshot time of the newest verified backup (ops.backups, written by scripts/backup-database.sh); 0 if none.",
      registers: [registry],
      async collect() {
        this.set(epochSeconds((await backupStatus()).lastBackupAt));
      },
    }),
    restoreDrillLastSuccess: new Gauge({
      name: "restore_drill_last_success_timestamp_seconds",
      help: "When the newest successful restore drill finished (ops.restore_drills, scripts/restore-drill.sh); 0 if none.",
      registers: [registry],
      async collect() {
        this.set(epochSeconds((await backupStatus()).lastOkDrillAt));
      },
    }),
    jobsInFlight: new Gauge({
      name: "worker_jobs_in_flight",
      help: "Jobs this process has claimed and not yet settled.",
      labelNames: ["queue"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [queue, count] of metrics.readInFlight()) this.set({ queue }, count);
      },
    }),
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests served, by route template and status.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpRequestSeconds: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by route template.",
      labelNames: ["method", "route"],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
  };
  for (const queue of queues) {
    for (const counter of [metrics.jobsCompleted, metrics.jobsFailed, metrics.jobsRetried]) counter.inc({ queue }, 0);
  }
  return metrics;
}
