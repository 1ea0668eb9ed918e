import type { Redis } from "ioredis";
import { windowStartAt, type RateLimitStore, type WindowCount } from "./rate-limiter.ts";

/** Counters as Redis keys that expire with their window: one pipelined round trip per request. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = "redis";
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = "gpt-platform:rl:") {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async hit(keys: readonly string[], windowSeconds: number): Promise<WindowCount[]> {
    const now = Date.now();
    const nowSeconds = now / 1000;
    const windowStart = windowStartAt(now, windowSeconds);
    const secondsLeft = Math.max(1, Math.ceil(windowStart + windowSeconds - nowSeconds));
    const transaction = this.#redis.multi();
    for (const key of keys) {
      const redisKey = `${this.#prefix}${key}:${windowStart}`;
      transaction.incr(redisKey).expire(redisKey, windowSeconds + 1);
    }
    const results = await transaction.exec();
    if (!results) throw new Error("redis rate-limit transaction was aborted");
    return keys.map((_, i) => {
      const [error, hits] = results[i * 2]!;
      if (error) throw error;
      return { hits: Number(hits), secondsLeft, windowStart };
    });
  }
}
