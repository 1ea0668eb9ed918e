import type { PgBoss } from "pg-boss";
import type { ApiScope, ApiTokenClaims } from "../core/auth/api-token.ts";
import type { WorkerConfig } from "../core/config/worker-config.ts";
import type { DatabaseHandles } from "../core/db/connect.ts";
import type { JobClient } from "../core/jobs/enqueue.ts";
import type { RateLimiter } from "../core/ratelimit/rate-limiter.ts";
import type { WorkerMetrics } from "./metrics/prometheus.ts";
import type { RunnerPluginState } from "./plugins/job-runner.ts";

/** What the worker's plugins add to Fastify, in one place so every route sees the same types. */

export interface ServiceInfo {
  name: string;
  version: string;
  instanceId: string;
  startedAt: number;
  /** Set once close() begins: readiness fails so load balancers stop sending requests. */
  shuttingDown: boolean;
  /** Set once pg-boss has started and the catalogue's queues exist. */
  engineStarted: boolean;
  /** Highest migration version this code ships; readiness compares the database to it. */
  expectedMigration: number;
}

declare module "fastify" {
  interface FastifyInstance {
    config: WorkerConfig;
    service: ServiceInfo;
    metrics: WorkerMetrics;
    db: DatabaseHandles;
    boss: PgBoss;
    jobs: JobClient;
    runner: RunnerPluginState | null;
    limits: { limiter: RateLimiter; ping(): Promise<void> };
    authenticate(request: FastifyRequest): Promise<void>;
    requireScope(scope: ApiScope): (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    /** The verified API token's claims; set by app.authenticate. */
    auth: ApiTokenClaims | null;
  }
}
