import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { LATENCY_BUCKET_BOUNDS_MS } from "../core/jobs/rollups.ts";

/**
 * The web process's Prometheus metrics (GET /metrics/prometheus): its requests by kind and
 * status, and the process's own figures. Kinds rather than paths keep the label set small: page
 * (GET/HEAD rendered by Remix), action (a form post), static (a built file), refused (a cross-site post).
 */
export type RequestKind = "page" | "action" | "static" | "refused";

export interface WebMetrics {
  registry: Registry;
  observe(method: string, kind: RequestKind, status: number, seconds: number): void;
}

export function createWebMetrics(): WebMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests served by the web app, by kind and status.",
    labelNames: ["method", "kind", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Web app request duration by kind.",
    labelNames: ["method", "kind"],
    buckets: LATENCY_BUCKET_BOUNDS_MS.map((ms) => ms / 1000),
    registers: [registry],
  });
  return {
    registry,
    observe(method, kind, status, seconds) {
      requests.inc({ method, kind, status: String(status) });
      duration.observe({ method, kind }, seconds);
    },
  };
}
