import { z } from "zod";
import {
  appDatabasePassword,
  proxyHops,
  flag,
  host,
  httpUrl,
  integer,
  logLevel,
  postgresUrl,
  redisUrl,
  secret,
  sentryDsn,
} from "./fields.ts";
import { parseEnv, type Env } from "./parse-env.ts";

export const workerSchema = z.object({
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_MAX: integer({ min: 2, max: 500, default: 20 }),
  /** Where tenant queries log in as gpt_app; derived from DATABASE_URL and APP_DATABASE_PASSWORD when unset. */
  APP_DATABASE_URL: postgresUrl.optional(),
  APP_DATABASE_PASSWORD: appDatabasePassword.optional(),
  JWT_SECRET: secret("signs and verifies API tokens"),
  ENCRYPTION_KEY: secret("encrypts integration secrets at rest"),
  HOST: host,
  PORT: integer({ min: 0, max: 65535, default: 3001 }),
  TRUST_PROXY: proxyHops,
  LOG_LEVEL: logLevel,
  JOB_CONCURRENCY: integer({ min: 1, max: 1000, default: 10 }),
  JOB_FETCH_LOOPS: integer({ min: 1, max: 16, default: 4 }),
  JOB_FAIR_SHARE: flag(true),
  JOB_POLL_INTERVAL_SECONDS: integer({ min: 1, max: 300, default: 2 }),
  JOB_SUPERVISE_INTERVAL_SECONDS: integer({ min: 1, max: 3600, default: 10 }),
  JOB_ROLLUP_FLUSH_SECONDS: integer({ min: 1, max: 60, default: 5 }),
  SHUTDOWN_TIMEOUT_SECONDS: integer({ min: 1, max: 3600, default: 30 }),
  MAX_PAYLOAD_BYTES: integer({ min: 1024, max: 64 * 1024 * 1024, default: 256 * 1024 }),
  MAX_BULK_JOBS: integer({ min: 1, max: 10_000, default: 1000 }),
  MAX_BULK_BODY_BYTES: integer({ min: 1024, max: 256 * 1024 * 1024, default: 8 * 1024 * 1024 }),
  API_RATE_LIMIT_PER_MINUTE: integer({ min: 1, max: 1_000_000, default: 1200 }),
  API_RATE_LIMIT_PER_IP_PER_MINUTE: integer({ min: 1, max: 1_000_000, default: 6000 }),
  METRICS_TOKEN: z.string().min(16, { error: "must be at least 16 characters" }).optional(),
  REDIS_URL: redisUrl.optional(),
  SENTRY_DSN: sentryDsn.optional(),
  SENTRY_ENVIRONMENT: z.string().default("development"),
  TEST_JOB_CRASH_ENABLED: flag(false),
  /** Where test-upstream-call jobs send their request (a local fake of a rate-limited API); unset, they fail. */
  TEST_UPSTREAM_URL: httpUrl.optional(),
});

export type WorkerConfig = z.output<typeof workerSchema>;

export function loadWorkerConfig(env: Env): WorkerConfig {
  return parseEnv("the worker", workerSchema, env);
}
