import { z } from "zod";
import { appDatabasePassword, proxyHops, host, httpUrl, integer, logLevel, postgresUrl, redisUrl, secret, sentryDsn } from "./fields.ts";
import { parseEnv, type Env } from "./parse-env.ts";

export const webSchema = z.object({
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_MAX: integer({ min: 2, max: 500, default: 10 }),
  /** Where tenant queries log in as gpt_app; derived from DATABASE_URL and APP_DATABASE_PASSWORD when unset. */
  APP_DATABASE_URL: postgresUrl.optional(),
  APP_DATABASE_PASSWORD: appDatabasePassword.optional(),
  HOST: host,
  WEB_PORT: integer({ min: 0, max: 65535, default: 3000 }),
  TRUST_PROXY: proxyHops,
  LOG_LEVEL: logLevel,
  /** Where people reach the web app: links in emails, and Secure cookies when it is https. */
  WEB_PUBLIC_URL: httpUrl.default("http://127.0.0.1:3000"),
  /** Where browsers reach the worker's API (links on the web app). */
  WORKER_PUBLIC_URL: httpUrl.default("http://127.0.0.1:3001"),
  SESSION_SECRET: secret("signs the web app's CSRF tokens"),
  JWT_SECRET: secret("signs API tokens created on the web app"),
  REDIS_URL: redisUrl.optional(),
  /** Optional: require `Authorization: Bearer <METRICS_TOKEN>` on /metrics/prometheus. Unset: loopback only. */
  METRICS_TOKEN: z.string().min(16, { error: "must be at least 16 characters" }).optional(),
  /** Sign-in attempts for one email from one address per 15 minutes. */
  SIGNIN_ATTEMPTS_PER_EMAIL: integer({ min: 1, max: 10_000, default: 10 }),
  /** For one email from all addresses together: high, so strangers cannot lock an account out. */
  SIGNIN_ATTEMPTS_PER_EMAIL_ALL_ADDRESSES: integer({ min: 1, max: 100_000, default: 200 }),
  SIGNIN_ATTEMPTS_PER_IP: integer({ min: 1, max: 100_000, default: 50 }),
  MAIL_FROM: z.string().default("GPT Agent Platform <no-reply@localhost>"),
  SENTRY_DSN: sentryDsn.optional(),
  SENTRY_ENVIRONMENT: z.string().default("development"),
});

export type WebConfig = z.output<typeof webSchema>;

export function loadWebConfig(env: Env): WebConfig {
  return parseEnv("the web app", webSchema, env);
}
