import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { LATENCY_BUCKET_BOUNDS_MS } from "../../core/jobs/rollups.ts";
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
  jobsInFlight: Gauge<"queue">;
  /** Set by the job runner once it runs; the in-flight gauge reads it at scrape time. */
  readInFlight: () => Map<string, number>;
  httpRequests: Counter<"method" | "route" | "status">;
  httpRequestSeconds: Histogram<"method" | "route">;
}

const SECONDS_BUCKETS = LATENCY_BUCKET_BOUNDS_MS.map((ms) => ms / 1000);

export function createWorkerMetrics(readDepth: () => Promise<{ queue: string; state: string; count: number }[]>): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics: WorkerMetrics = {
    readInFlight: () => new Map(),
    registry,
    jobsCompleted: new Counter({ name: "jobs_completed_total", help: "Jobs that completed.", labelNames: ["queue"], registers: [registry] }),
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
        for (const row of await readDepth()) this.set({ queue: row.queue, state: row.state }, row.count);
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
  return metrics;
}
