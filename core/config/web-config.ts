import { z } from "zod";
import { host, httpUrl, integer, logLevel, postgresUrl, sentryDsn } from "./fields.ts";
import { parseEnv, type Env } from "./parse-env.ts";

export const webSchema = z.object({
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_MAX: integer({ min: 1, max: 500, default: 10 }),
  HOST: host,
  WEB_PORT: integer({ min: 0, max: 65535, default: 3000 }),
  LOG_LEVEL: logLevel,
  /** Where people and the web app reach the worker's API (links on the status page). */
  WORKER_PUBLIC_URL: httpUrl.default("http://127.0.0.1:3001"),
  SENTRY_DSN: sentryDsn.optional(),
  SENTRY_ENVIRONMENT: z.string().default("development"),
});

export type WebConfig = z.output<typeof webSchema>;

export function loadWebConfig(env: Env): WebConfig {
  return parseEnv("the web app", webSchema, env);
}
