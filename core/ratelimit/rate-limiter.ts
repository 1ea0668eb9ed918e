/**
 * Fixed-window request limits ("at most N per minute per key"). The store counts hits per key per
 * window; Redis when configured, Postgres otherwise, both shared by every process so a limit holds
 * across replicas.
 */

export interface WindowCount {
  hits: number;
  /** Whole seconds until the current window ends (at least 1). */
  secondsLeft: number;
}

export interface RateLimitStore {
  readonly kind: string;
  /** Counts one hit for `key` in the current window of `windowSeconds` and returns the window's total. */
  hit(key: string, windowSeconds: number): Promise<WindowCount>;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When refused: seconds until a request may succeed (for Retry-After). */
  retryAfterSeconds: number;
}

export class RateLimiter {
  readonly #store: RateLimitStore;
  readonly limit: number;
  readonly windowSeconds: number;

  constructor(store: RateLimitStore, options: { limit: number; windowSeconds: number }) {
    this.#store = store;
    this.limit = options.limit;
    this.windowSeconds = options.windowSeconds;
  }

  async check(key: string): Promise<RateLimitDecision> {
    const { hits, secondsLeft } = await this.#store.hit(key, this.windowSeconds);
    const allowed = hits <= this.limit;
    return {
      allowed,
      limit: this.limit,
      remaining: Math.max(0, this.limit - hits),
      retryAfterSeconds: allowed ? 0 : secondsLeft,
    };
  }
}

/**
 * Uses the primary store (Redis) and, while it fails, the fallback (Postgres): Redis is a cache
 * here, so losing it must neither stop the API nor silently switch limits off.
 */
export class FallbackStore implements RateLimitStore {
  readonly kind: string;
  readonly #primary: RateLimitStore;
  readonly #fallback: RateLimitStore;
  readonly #onFallback: (error: Error) => void;

  constructor(primary: RateLimitStore, fallback: RateLimitStore, onFallback: (error: Error) => void) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#onFallback = onFallback;
    this.kind = `${primary.kind} (falls back to ${fallback.kind})`;
  }

  async hit(key: string, windowSeconds: number): Promise<WindowCount> {
    try {
      return await this.#primary.hit(key, windowSeconds);
    } catch (error) {
      this.#onFallback(error as Error);
      return this.#fallback.hit(key, windowSeconds);
    }
  }
}
