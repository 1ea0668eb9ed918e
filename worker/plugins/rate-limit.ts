import fp from "fastify-plugin";
import { Redis } from "ioredis";
import { PostgresRateLimitStore } from "../../core/ratelimit/postgres-store.ts";
import { FallbackStore, RateLimiter, type RateLimitDecision, type RateLimitStore } from "../../core/ratelimit/rate-limiter.ts";
import { RedisRateLimitStore } from "../../core/ratelimit/redis-store.ts";
import { HttpError } from "../http-error.ts";

const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Request limits for anything a stranger can reach: per client address on every API request, and
 * per token once authenticated. Counters live in Redis when REDIS_URL is set (falling back to
 * Postgres while Redis is unreachable) and in Postgres otherwise, so they hold across replicas.
 */
export const rateLimitPlugin = fp(
  async (app) => {
    const { config } = app;
    const postgres = new PostgresRateLimitStore(app.db.owner);
    let store: RateLimitStore = postgres;
    let redis: Redis | undefined;
    if (config.REDIS_URL) {
      redis = new Redis(config.REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
      redis.on("error", () => {}); // reported through the fallback below, not once per reconnect attempt
      await redis
        .connect()
        .catch((error: Error) => app.log.warn({ err: error }, "Redis is unreachable; rate limits use Postgres until it is back"));
      let lastWarning = 0;
      store = new FallbackStore(new RedisRateLimitStore(redis), postgres, (error) => {
        if (Date.now() - lastWarning > 60_000) {
          lastWarning = Date.now();
          app.log.warn({ err: error }, "Redis rate-limit store failed; using Postgres");
        }
      });
    }
    app.decorate("limits", {
      limiter: new RateLimiter(store, {
        windowSeconds: 60,
        onBackgroundError: (error) =>
          app.log.warn({ err: error }, "recording a rate-limit hit failed; the next request will wait for the store"),
      }),
      async ping() {
        if (redis) await redis.ping();
      },
    });
    const sweep = setInterval(() => {
      postgres.sweep(3600).catch((error: Error) => app.log.warn({ err: error }, "rate-limit sweep failed"));
    }, SWEEP_INTERVAL_MS);
    sweep.unref();
    app.addHook("onClose", async () => {
      clearInterval(sweep);
      redis?.disconnect();
    });
  },
  { name: "rate-limit", dependencies: ["database"] },
);

/** The 429 for a refused rate-limit decision, with Retry-After. */
export function tooManyRequests(decision: RateLimitDecision, what: string, windowSeconds: number): HttpError {
  return new HttpError(
    429,
    "rate_limited",
    `too many requests ${what}: at most ${decision.limit} per ${windowSeconds} s; try again in ${decision.retryAfterSeconds} s`,
    { retryAfterSeconds: decision.retryAfterSeconds },
    { "retry-after": String(decision.retryAfterSeconds) },
  );
}
