import { z } from "zod";
import { appDatabasePassword, integer, logLevel, postgresUrl, redisUrl, secret } from "./fields.ts";
import { parseEnv, type Env } from "./parse-env.ts";

/**
 * Settings for the command-line tools in scripts/ (migrate, start, test, token, seed, bench).
 * Database URLs are optional here: without them the tools provision and use a local database.
 */
export const toolsSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  TEST_DATABASE_URL: postgresUrl.optional(),
  TEST_REDIS_URL: redisUrl.optional(),
  /** gpt_app's password: the release step sets it, and the tools log in with it. */
  APP_DATABASE_PASSWORD: appDatabasePassword.optional(),
  JWT_SECRET: secret("signs API tokens").optional(),
  ENCRYPTION_KEY: secret("encrypts integration secrets at rest").optional(),
  SESSION_SECRET: secret("signs the web app's CSRF tokens").optional(),
  DEMO_PASSWORD: z.string().min(12, { error: "must be at least 12 characters" }).optional(),
  LOG_LEVEL: logLevel,
  // Read by the backup scripts (scripts/lib/ops.sh); listed here so .env.example documents them.
  BACKUP_DIR: z.string().optional(),
  BACKUP_KEEP_COUNT: integer({ min: 1, max: 10_000, default: 14 }),
  BACKUP_KEEP_DAYS: integer({ min: 0, max: 36_500, default: 30 }),
  BACKUP_LOG: z.string().optional(),
});

export type ToolsConfig = z.output<typeof toolsSchema>;

export function loadToolsConfig(env: Env): ToolsConfig {
  return parseEnv("the command-line tools", toolsSchema, env);
}
