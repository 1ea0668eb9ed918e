/**
 * Keyed rate limits of a job type (docs/decisions/011). A limit's key is built from the job's
 * payload, so one Kommo account's jobs share 7 requests a second whichever organisation or worker
 * runs them, and another account's jobs are not slowed by it. Budgets live in Postgres
 * (ops.rate_limit_budgets): every worker process on every host books from the same row.
 */

export interface RateLimit {
  /**
   * The budget's key, with `{field}` replaced by the payload's field of that name (a string or an
   * integer) or `{orgId}` by the job's organisation: "kommo:{accountId}", "openrouter:{orgId}".
   */
  key: string;
  /** Requests (or cost units) allowed per `perSeconds`. */
  limit: number;
  perSeconds: number;
  /**
   * A payload field holding what one job costs against the limit (for tokens a minute: the
   * request's token budget); 1 when unset. A missing or non-numeric field costs 1.
   */
  costField?: string;
}

/**
 * Jobs are admitted evenly spaced, each `perSeconds / limit` after the last: 10% more than that,
 * so that the delay between a job's booked start and its request reaching the upstream (a busy
 * event loop, the handler's own work, the network) never packs one more request into an
 * upstream's second than it allows. Measured (`npm run bench -- --rate-limits-only`, three workers
 * on two cores): requests arrive up to ~60 ms off their slots in the first seconds, while 300 jobs
 * are claimed and snoozed at once. With 5%, 7 slots span 1,050 ms and 4 of 4 runs let 8 requests
 * into one second; with 10% (1,100 ms), 0 of 4. The cost: 300 calls take 47 s instead of 45.
 */
export const RATE_LIMIT_MARGIN = 1.1;

/** What one job spends of one budget: the key's time slot, in seconds. */
export interface RateLimitSpend {
  key: string;
  seconds: number;
}

/** The payload lacks a field a limit's key is built from: the job can never be admitted. */
export class RateLimitKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RateLimitKeyError";
  }
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const KEY_VALUE = /^[A-Za-z0-9_.@-]{1,128}$/;

/** Problems with a job type's declared limits (empty when they are fine); checked by defineJob. */
export function rateLimitProblems(limits: readonly RateLimit[]): string[] {
  const problems: string[] = [];
  for (const [i, limit] of limits.entries()) {
    const where = `rateLimits[${i}] (${limit.key})`;
    if (!limit.key.includes("{") && !/^[a-z0-9:_-]+$/.test(limit.key))
      problems.push(`${where}: a key without placeholders must be lowercase letters, digits, ':', '_' or '-'`);
    if (limit.key.replace(PLACEHOLDER, "").includes("{")) problems.push(`${where}: braces must enclose a field name`);
    if (!(Number.isFinite(limit.limit) && limit.limit > 0)) problems.push(`${where}: limit must be a positive number`);
    if (!(Number.isFinite(limit.perSeconds) && limit.perSeconds > 0)) problems.push(`${where}: perSeconds must be a positive number`);
  }
  return problems;
}

/** The budgets one job spends from, in the order declared. Throws RateLimitKeyError. */
export function rateLimitSpends(limits: readonly RateLimit[], payload: unknown, orgId: string): RateLimitSpend[] {
  const fields = (payload ?? {}) as Record<string, unknown>;
  return limits.map((limit) => {
    const key = limit.key.replace(PLACEHOLDER, (_, field: string) => {
      const value = field === "orgId" ? orgId : fields[field];
      const text = typeof value === "string" || (typeof value === "number" && Number.isInteger(value)) ? String(value) : undefined;
      if (text === undefined || !KEY_VALUE.test(text)) {
        throw new RateLimitKeyError(
          `rate limit ${limit.key}: payload field "${field}" must be a string of letters, digits, '_', '.', '@' or '-' (at most 128) or an integer; got ${describe(value)}`,
        );
      }
      return text;
    });
    const cost = limit.costField === undefined ? 1 : fields[limit.costField];
    const units = typeof cost === "number" && Number.isFinite(cost) && cost > 0 ? cost : 1;
    return { key, seconds: (limit.perSeconds / limit.limit) * units * RATE_LIMIT_MARGIN };
  });
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `"${value.slice(0, 40)}${value.length > 40 ? "…" : ""}"`;
  return typeof value;
}

/**
 * Seconds to wait from an HTTP Retry-After header (delay-seconds or an HTTP date), or undefined
 * when it is absent or unreadable. `now` is for tests.
 */
export function retryAfterSeconds(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
