import t from "tap";
import { ConfigError } from "../../core/config/parse-env.ts";
import { loadWorkerConfig } from "../../core/config/worker-config.ts";

const valid = {
  DATABASE_URL: "postgres://app:pw@db.internal:5432/platform",
  JWT_SECRET: "j".repeat(40),
  ENCRYPTION_KEY: "e".repeat(40),
};

t.test("a valid environment parses with documented defaults", async (t) => {
  const config = loadWorkerConfig(valid);
  t.equal(config.PORT, 3001);
  t.equal(config.JOB_CONCURRENCY, 10);
  t.equal(config.MAX_PAYLOAD_BYTES, 256 * 1024);
  t.equal(config.SHUTDOWN_TIMEOUT_SECONDS, 30);
  t.equal(config.LOG_LEVEL, "info");
  t.equal(config.REDIS_URL, undefined);
  t.equal(config.TEST_JOB_CRASH_ENABLED, false);
});

t.test("every bad key is reported at once, secrets are never echoed", async (t) => {
  const error = t.throws(() =>
    loadWorkerConfig({
      DATABASE_URL: "mysql://nope",
      JWT_SECRET: "short-secret-value",
      PORT: "eighty",
      JOB_CONCURRENCY: "0",
      LOG_LEVEL: "loud",
      REDIS_URL: "http://cache",
      TEST_JOB_CRASH_ENABLED: "yes",
    }),
  ) as ConfigError;
  t.type(error, ConfigError);
  const keys = error.problems.map((p) => p.split(":")[0]).sort();
  t.same(keys, [
    "DATABASE_URL",
    "ENCRYPTION_KEY",
    "JOB_CONCURRENCY",
    "JWT_SECRET",
    "LOG_LEVEL",
    "PORT",
    "REDIS_URL",
    "TEST_JOB_CRASH_ENABLED",
  ]);
  t.notMatch(error.message, /short-secret-value/, "the secret's value is not in the message");
  t.match(error.message, /JWT_SECRET: must be at least 32 characters.*got a value of 18 characters/);
  t.match(error.message, /ENCRYPTION_KEY: is required/);
  t.match(error.message, /PORT: must be a whole number between 0 and 65535 \(got "eighty"\)/);
  t.match(error.message, /\.env\.example/);
});

t.test("empty values count as unset", async (t) => {
  const config = loadWorkerConfig({ ...valid, PORT: "", REDIS_URL: "  " });
  t.equal(config.PORT, 3001);
  t.equal(config.REDIS_URL, undefined);
});
