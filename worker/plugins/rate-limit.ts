import type { FastifyReply } from "fastify";
import fp from "fastify-plugin";
import { Redis } from "ioredis";
import { PostgresRateLimitStore } from "../../core/ratelimit/postgres-store.ts";
import { FallbackStore, RateLimiter, type RateLimitStore } from "../../core/ratelimit/rate-limiter.ts";
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
      await redis.connect().catch((error: Error) => app.log.warn({ err: error }, "Redis is unreachable; rate limits use Postgres until it is back"));
      let lastWarning = 0;
      store = new FallbackStore(new RedisRateLimitStore(redis), postgres, (error) => {
        if (Date.now() - lastWarning > 60_000) {
          lastWarning = Date.now();
          app.log.warn({ err: error }, "Redis rate-limit store failed; using Postgres");
        }
      });
    }
    app.decorate("limits", {
      perIp: new RateLimiter(store, { limit: config.API_RATE_LIMIT_PER_IP_PER_MINUTE, windowSeconds: 60 }),
      perToken: new RateLimiter(store, { limit: config.API_RATE_LIMIT_PER_MINUTE, windowSeconds: 60 }),
      storeKind: store.kind,
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

/** Counts one request against `limiter` for `key`; sets the RateLimit headers; throws 429 when over. */
export async function enforceLimit(limiter: RateLimiter, key: string, reply: FastifyReply, what: string): Promise<void> {
  const decision = await limiter.check(key);
  reply.header("ratelimit-limit", decision.limit);
  reply.header("ratelimit-remaining", decision.remaining);
  if (!decision.allowed) {
    throw new HttpError(
      429,
      "rate_limited",
      `too many requests ${what}: at most ${decision.limit} per ${limiter.windowSeconds} s; try again in ${decision.retryAfterSeconds} s`,
      { retryAfterSeconds: decision.retryAfterSeconds },
      { "retry-after": String(decision.retryAfterSeconds) },
    );
  }
}
