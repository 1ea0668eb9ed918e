import type { Redis } from "ioredis";
import type { RateLimitStore, WindowCount } from "./rate-limiter.ts";

/** Counters as Redis keys that expire with their window: one pipelined round trip per hit. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = "redis";
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = "gpt-platform:rl:") {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async hit(key: string, windowSeconds: number): Promise<WindowCount> {
    const nowSeconds = Date.now() / 1000;
    const windowStart = Math.floor(nowSeconds / windowSeconds) * windowSeconds;
    const redisKey = `${this.#prefix}${key}:${windowStart}`;
    const results = await this.#redis.multi().incr(redisKey).expire(redisKey, windowSeconds + 1).exec();
    if (!results) throw new Error("redis rate-limit transaction was aborted");
    const [incrError, hits] = results[0]!;
    if (incrError) throw incrError;
    return { hits: Number(hits), secondsLeft: Math.max(1, Math.ceil(windowStart + windowSeconds - nowSeconds)) };
  }
}
