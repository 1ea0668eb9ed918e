/**
 * What scripts/test.ts hands every test file: where the database server is, which migrated
 * template to clone, and the Redis to use. Tests run through `npm test`, which provisions these.
 */
function required(key: string): string {
  const value = process.env[key];
  if (!value) throw new Error(`${key} is not set: run the suite with npm test (it provisions PostgreSQL, Redis and a template database)`);
  return value;
}

export const testEnv = {
  serverUrl: required("TEST_SERVER_URL"),
  templateDb: required("TEST_TEMPLATE_DB"),
  runId: required("TEST_RUN_ID"),
  redisUrl: required("TEST_REDIS_URL"),
  /** gpt_app's password when the server wants one (APP_DATABASE_PASSWORD); unset for trust auth. */
  appPassword: process.env.APP_DATABASE_PASSWORD || undefined,
};

export const TEST_JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop";
export const TEST_ENCRYPTION_KEY = "test-encryption-key-0123456789-abcdefghijk";
