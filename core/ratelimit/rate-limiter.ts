/**
 * Fixed-window request limits ("at most N per minute per key"). The store counts hits per key per
 * window; Redis when configured, Postgres otherwise, both shared by every process so a limit holds
 * across replicas. Several keys (a client address and a token) are counted in one round trip.
 */

export interface WindowCount {
  hits: number;
  /** Whole seconds until the current window ends (at least 1). */
  secondsLeft: number;
  /** Epoch seconds at which the counted window began: windows are aligned to multiples of their length. */
  windowStart: number;
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
  /** Epoch seconds at which the window these hits belong to began. */
  windowStart: number;
  /** Hits the store reported, plus the requests admitted since without waiting for it. */
  hits: number;
}

/** The start (epoch seconds) of the window `nowMs` falls in; both stores align windows the same way. */
export function windowStartAt(nowMs: number, windowSeconds: number): number {
  return Math.floor(nowMs / 1000 / windowSeconds) * windowSeconds;
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
    const current = windowStartAt(Date.now(), this.windowSeconds);
    const known = rules.map((rule) => this.#currentWindow(rule.key, current));
    const comfortable = rules.every((rule, i) => {
      const k = known[i];
      return k !== undefined && rule.limit - k.hits > Math.max(2, Math.ceil(rule.limit * 0.1));
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

  /**
   * What this process knows of `key`'s hits in the window starting at `current`. A known key whose
   * window has ended starts the new one at zero: a new window only ever allows more, and the margin
   * near the limit covers other processes' hits this one has not heard of yet, as it does mid-window.
   * (Requiring a fresh count from the store instead made every request of a window's last moments
   * wait for it at once, all on the same counter rows: the API's p99 stalls of issue 10.)
   */
  #currentWindow(key: string, current: number): KnownWindow | undefined {
    const k = this.#known.get(key);
    if (k === undefined || k.windowStart >= current) return k;
    const rolled = { windowStart: current, hits: 0 };
    this.#known.set(key, rolled);
    return rolled;
  }

  async #count(rules: readonly RateLimitRule[]): Promise<WindowCount[]> {
    const keys = rules.map((r) => r.key);
    try {
      const counts = await this.#store.hit(keys, this.windowSeconds);
      counts.forEach((count, i) => {
        const previous = this.#known.get(keys[i]!);
        // Background counts return out of order: an answer about an earlier window is stale, and
        // within the same window the estimate never drops below what this process has admitted.
        if (previous !== undefined && previous.windowStart > count.windowStart) return;
        const sameWindow = previous !== undefined && previous.windowStart === count.windowStart;
        this.#known.set(keys[i]!, { windowStart: count.windowStart, hits: sameWindow ? Math.max(previous.hits, count.hits) : count.hits });
      });
      if (this.#known.size > 10_000) this.#forgetEnded(windowStartAt(Date.now(), this.windowSeconds));
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

  #forgetEnded(current: number): void {
    for (const [key, window] of this.#known) if (window.windowStart < current) this.#known.delete(key);
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
