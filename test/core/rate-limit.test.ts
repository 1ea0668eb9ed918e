import { Redis } from "ioredis";
import t, { type Test } from "tap";
import { PostgresRateLimitStore } from "../../core/ratelimit/postgres-store.ts";
import { FallbackStore, RateLimiter, type RateLimitStore } from "../../core/ratelimit/rate-limiter.ts";
import { RedisRateLimitStore } from "../../core/ratelimit/redis-store.ts";
import { createTestDatabase } from "../helpers/database.ts";
import { testEnv } from "../helpers/test-env.ts";
import { awayFromWindowEnd } from "../helpers/wait.ts";

async function exercise(t: Test, store: RateLimitStore, key: string) {
  const limiter = new RateLimiter(store, { windowSeconds: 60 });
  await awayFromWindowEnd(60);
  const decisions = [];
  for (let i = 0; i < 5; i++) decisions.push((await limiter.check([{ key, limit: 3 }]))[0]!);
  t.same(
    decisions.map((d) => d.allowed),
    [true, true, true, false, false],
    "the fourth request in the window is refused",
  );
  t.same(
    decisions.map((d) => d.remaining),
    [2, 1, 0, 0, 0],
  );
  const refused = decisions[3]!;
  t.ok(refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60, `retry after ${refused.retryAfterSeconds}s`);
  const [other, same] = await limiter.check([
    { key: `${key}:other`, limit: 3 },
    { key, limit: 10 },
  ]);
  t.ok(other!.allowed, "other keys have their own budget");
  t.match(same, { allowed: true, remaining: 4 }, "several keys are counted in one call, each against its own limit");
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
  const dead = new Redis("redis://127.0.0.1:1", {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  dead.on("error", () => {});
  t.teardown(() => dead.disconnect());
  const failures: Error[] = [];
  const store = new FallbackStore(new RedisRateLimitStore(dead), new PostgresRateLimitStore(db.handles.owner), (e) => failures.push(e));
  await exercise(t, store, "fallback:test");
  t.ok(failures.length > 0, "each fallback was reported");
});

t.test("well inside a budget requests do not wait for the store, yet every hit is counted", async (t) => {
  const db = await createTestDatabase(t);
  const store = new PostgresRateLimitStore(db.handles.owner);
  let waits = 0;
  const counting: RateLimitStore = {
    kind: "counting",
    hit: async (keys, window) => {
      // Earlier hits answer later than later ones, as a busy pool can make them: a decision near
      // the limit must still see every hit admitted before it.
      const delayMs = Math.max(0, 60 - 2 * waits++);
      await new Promise((r) => setTimeout(r, delayMs));
      return store.hit(keys, window);
    },
  };
  const limiter = new RateLimiter(counting, { windowSeconds: 60 });
  await awayFromWindowEnd(60);
  const decisions = [];
  for (let i = 0; i < 30; i++) decisions.push((await limiter.check([{ key: "budget", limit: 30 }]))[0]!);
  t.equal(waits, 30, "every request reached the store");
  t.same(
    decisions.map((d) => d.allowed),
    new Array(30).fill(true),
  );
  const over = (await limiter.check([{ key: "budget", limit: 30 }]))[0]!;
  t.notOk(over.allowed, "the 31st is refused: near the limit the decision waited for the store's count");
  const { rows } = await db.handles.owner
    .selectFrom("ops.rate_limit_windows")
    .select("hits")
    .where("key", "=", "budget")
    .execute()
    .then((r) => ({ rows: r }));
  t.equal(rows[0]!.hits, 31, "the store counted all of them");
});

t.test("the end of a window does not make requests wait for the store", async (t) => {
  const db = await createTestDatabase(t);
  const store = new PostgresRateLimitStore(db.handles.owner);
  const STORE_DELAY_MS = 80;
  const slow: RateLimitStore = {
    kind: "slow",
    hit: async (keys, window) => {
      await new Promise((r) => setTimeout(r, STORE_DELAY_MS));
      return store.hit(keys, window);
    },
  };
  // Two-second windows: about 4.5 s of requests cross two window ends.
  const limiter = new RateLimiter(slow, { windowSeconds: 2 });
  const waited: number[] = [];
  const until = Date.now() + 4500;
  let requests = 0;
  let refused = 0;
  while (Date.now() < until) {
    const started = performance.now();
    const [decision] = await limiter.check([{ key: "edges", limit: 100_000 }]);
    if (!decision!.allowed) refused++;
    if (performance.now() - started >= STORE_DELAY_MS - 20) waited.push(requests);
    requests++;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(requests > 100, `${requests} requests`);
  t.equal(refused, 0, "all allowed");
  t.same(waited, [0], "only the first request (an unknown key) waited for the store's count");
  const { hits } = await db.handles.owner
    .selectFrom("ops.rate_limit_windows")
    .select("hits")
    .where("key", "=", "edges")
    .executeTakeFirstOrThrow();
  t.ok(hits > 0 && hits < requests, `the store counts the current window only (${hits} of ${requests})`);
});
