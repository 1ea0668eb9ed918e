/**
 * Fixed-window request limits ("at most N per minute per key"). The store counts hits per key per
 * window; Redis when configured, Postgres otherwise, both shared by every process so a limit holds
 * across replicas. Several keys (a client address and a token) are counted in one round trip.
 */

export interface WindowCount {
  hits: number;
  /** Whole seconds until the current window ends (at least 1). */
  secondsLeft: number;
}

export interface RateLimitStore {
  readonly kind: string;
  /** Counts one hit for each key in the current window of `windowSeconds`; totals come back in key order. */
  hit(keys: readonly string[], windowSeconds: number): Promise<WindowCount[]>;
}

export interface RateLimitRule {
  key: string;
  limit: number;
}

export interface RateLimitDecision {
  key: string;
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When refused: seconds until a request may succeed (for Retry-After). */
  retryAfterSeconds: number;
}

interface KnownWindow {
  /** Epoch ms when the key's current window ends. */
  endsAt: number;
  /** Hits the store reported, plus the requests admitted since without waiting for it. */
  hits: number;
}

export class RateLimiter {
  readonly #store: RateLimitStore;
  readonly #onBackgroundError: (error: Error) => void;
  readonly #known = new Map<string, KnownWindow>();
  /** Counts sent in the background and not yet answered. */
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly windowSeconds: number;

  constructor(store: RateLimitStore, options: { windowSeconds: number; onBackgroundError?: (error: Error) => void }) {
    this.#store = store;
    this.windowSeconds = options.windowSeconds;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
  }

  get storeKind(): string {
    return this.#store.kind;
  }

  /**
   * Counts one request against every rule; one decision per rule, in order. The count always
   * reaches the shared store, but a request only waits for it when some key is unknown to this
   * process or close to its limit; well inside every budget it goes ahead while the count is
   * recorded in the background. So a limit is exact near its edge, costs no round trip otherwise,
   * and every key's hot counter row is not a queue that each request waits in.
   */
  async check(rules: readonly RateLimitRule[]): Promise<RateLimitDecision[]> {
    const now = Date.now();
    const known = rules.map((rule) => this.#known.get(rule.key));
    const comfortable = rules.every((rule, i) => {
      const k = known[i];
      return k !== undefined && k.endsAt > now + 1000 && rule.limit - k.hits > Math.max(2, Math.ceil(rule.limit * 0.1));
    });
    if (!comfortable) {
      // Counts still in flight from requests admitted in the background must land first, or this
      // count could miss them and admit one request too many.
      if (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      return this.#decide(rules, await this.#count(rules));
    }
    const counted = this.#count(rules).catch((error: Error) => this.#onBackgroundError(error));
    this.#inFlight.add(counted);
    void counted.finally(() => this.#inFlight.delete(counted));
    return rules.map((rule, i) => {
      const k = known[i]!;
      k.hits++;
      return { key: rule.key, allowed: true, limit: rule.limit, remaining: rule.limit - k.hits, retryAfterSeconds: 0 };
    });
  }

  async #count(rules: readonly RateLimitRule[]): Promise<WindowCount[]> {
    const keys = rules.map((r) => r.key);
    try {
      const counts = await this.#store.hit(keys, this.windowSeconds);
      const now = Date.now();
      counts.forEach((count, i) => {
        const endsAt = now + count.secondsLeft * 1000;
        const previous = this.#known.get(keys[i]!);
        // Background counts return out of order: within the same window, never lower the estimate
        // below what this process has already admitted.
        const sameWindow = previous !== undefined && Math.abs(previous.endsAt - endsAt) < 1500;
        this.#known.set(keys[i]!, { endsAt, hits: sameWindow ? Math.max(previous.hits, count.hits) : count.hits });
      });
      if (this.#known.size > 10_000) this.#forgetEnded(now);
      return counts;
    } catch (error) {
      for (const key of keys) this.#known.delete(key);
      throw error;
    }
  }

  #decide(rules: readonly RateLimitRule[], counts: readonly WindowCount[]): RateLimitDecision[] {
    return rules.map((rule, i) => {
      const { hits, secondsLeft } = counts[i]!;
      const allowed = hits <= rule.limit;
      return {
        key: rule.key,
        allowed,
        limit: rule.limit,
        remaining: Math.max(0, rule.limit - hits),
        retryAfterSeconds: allowed ? 0 : secondsLeft,
      };
    });
  }

  #forgetEnded(now: number): void {
    for (const [key, window] of this.#known) if (window.endsAt <= now) this.#known.delete(key);
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

  async hit(keys: readonly string[], windowSeconds: number): Promise<WindowCount[]> {
    try {
      return await this.#primary.hit(keys, windowSeconds);
    } catch (error) {
      this.#onFallback(error as Error);
      return this.#fallback.hit(keys, windowSeconds);
    }
  }
}
