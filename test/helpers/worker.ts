import type { FastifyInstance } from "fastify";
import type { DestinationStream } from "pino";
import type { Test } from "tap";
import { API_SCOPES, type ApiScope } from "../../core/auth/api-token.ts";
import { apiTokenCreate } from "../../core/auth/api-tokens.ts";
import { withOrg } from "../../core/db/org-scope.ts";
import type { TestDatabase } from "./database.ts";
import type { Env } from "../../core/config/parse-env.ts";
import { loadWorkerConfig, type WorkerConfig } from "../../core/config/worker-config.ts";
import { buildWorkerApp } from "../../worker/app.ts";
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, testEnv } from "./test-env.ts";

/** Worker settings for tests: quiet logs, fast polling and supervision, everything else default. */
export function testWorkerEnv(databaseUrl: string, overrides: Env = {}): Env {
  return {
    DATABASE_URL: databaseUrl,
    APP_DATABASE_PASSWORD: testEnv.appPassword,
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

/** A real API token for `orgId`: a row in app.api_tokens and a JWT naming it (signed with `secret`). */
export async function tokenFor(
  db: TestDatabase,
  orgId: string,
  options: { scopes?: readonly ApiScope[]; ttlDays?: number; secret?: string } = {},
): Promise<string> {
  const { token } = await withOrg(db.handles.app, orgId, (trx) =>
    apiTokenCreate(trx, options.secret ?? TEST_JWT_SECRET, {
      orgId,
      name: "test token",
      scopes: options.scopes ?? API_SCOPES,
      ttlDays: options.ttlDays ?? 1,
      createdBy: null,
      subject: "test",
    }),
  );
  return token;
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
