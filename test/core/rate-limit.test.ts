import { Redis } from "ioredis";
import t, { type Test } from "tap";
import { PostgresRateLimitStore } from "../../core/ratelimit/postgres-store.ts";
import { FallbackStore, RateLimiter, type RateLimitStore } from "../../core/ratelimit/rate-limiter.ts";
import { RedisRateLimitStore } from "../../core/ratelimit/redis-store.ts";
import { createTestDatabase } from "../helpers/database.ts";
import { testEnv } from "../helpers/test-env.ts";

async function exercise(t: Test, store: RateLimitStore, key: string) {
  const limiter = new RateLimiter(store, { limit: 3, windowSeconds: 60 });
  const decisions = [];
  for (let i = 0; i < 5; i++) decisions.push(await limiter.check(key));
  t.same(decisions.map((d) => d.allowed), [true, true, true, false, false], "the fourth request in the window is refused");
  t.same(decisions.map((d) => d.remaining), [2, 1, 0, 0, 0]);
  const refused = decisions[3]!;
  t.ok(refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60, `retry after ${refused.retryAfterSeconds}s`);
  t.ok((await limiter.check(`${key}:other`)).allowed, "other keys have their own budget");
}

t.test("Postgres store", async (t) => {
  const db = await createTestDatabase(t);
  const store = new PostgresRateLimitStore(db.handles.owner);
  await exercise(t, store, "pg:test");
  t.equal(await store.sweep(0), 2, "sweep removes ended windows' counters");
});

t.test("Redis store", async (t) => {
  const redis = new Redis(testEnv.redisUrl);
  t.teardown(() => redis.quit());
  await exercise(t, new RedisRateLimitStore(redis, `test:${testEnv.runId}:${process.pid}:`), "redis:test");
});

t.test("falls back to Postgres while Redis is unreachable", async (t) => {
  const db = await createTestDatabase(t);
  const dead = new Redis("redis://127.0.0.1:1", { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  dead.on("error", () => {});
  t.teardown(() => dead.disconnect());
  const failures: Error[] = [];
  const store = new FallbackStore(new RedisRateLimitStore(dead), new PostgresRateLimitStore(db.handles.owner), (e) => failures.push(e));
  await exercise(t, store, "fallback:test");
  t.ok(failures.length > 0, "each fallback was reported");
});
