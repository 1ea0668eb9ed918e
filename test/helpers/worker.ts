import type { FastifyInstance } from "fastify";
import type { DestinationStream } from "pino";
import type { Test } from "tap";
import { API_SCOPES, signApiToken, type ApiScope } from "../../core/auth/api-token.ts";
import type { Env } from "../../core/config/parse-env.ts";
import { loadWorkerConfig, type WorkerConfig } from "../../core/config/worker-config.ts";
import { buildWorkerApp } from "../../worker/app.ts";
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from "./test-env.ts";

/** Worker settings for tests: quiet logs, fast polling and supervision, everything else default. */
export function testWorkerEnv(databaseUrl: string, overrides: Env = {}): Env {
  return {
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: "5",
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: "silent",
    PORT: "0",
    JOB_POLL_INTERVAL_SECONDS: "1",
    JOB_SUPERVISE_INTERVAL_SECONDS: "1",
    ...overrides,
  };
}

export function testWorkerConfig(databaseUrl: string, overrides: Env = {}): WorkerConfig {
  return loadWorkerConfig(testWorkerEnv(databaseUrl, overrides));
}

/** The worker service in this process, closed at teardown. */
export async function startWorkerApp(
  t: Test,
  databaseUrl: string,
  options: { runJobs?: boolean; env?: Env; logStream?: DestinationStream } = {},
): Promise<FastifyInstance> {
  const app = await buildWorkerApp({
    config: testWorkerConfig(databaseUrl, options.env),
    runJobs: options.runJobs ?? false,
    logStream: options.logStream,
  });
  t.teardown(() => app.close());
  return app;
}

export function tokenFor(orgId: string, options: { scopes?: readonly ApiScope[]; ttlSeconds?: number; secret?: string } = {}): string {
  return signApiToken(options.secret ?? TEST_JWT_SECRET, {
    orgId,
    subject: "test",
    scopes: options.scopes ?? API_SCOPES,
    ttlSeconds: options.ttlSeconds ?? 600,
  });
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
