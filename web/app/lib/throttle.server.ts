import { data } from "@remix-run/node";
import type { RateLimitRule } from "../../../core/ratelimit/rate-limiter.ts";
import { getPlatform } from "./platform.server.ts";

/**
 * Counts an attempt (sign in, sign up, password reset) against each rule and refuses with 429 and
 * "try again in N s" when any is exhausted. Counters live in Redis when configured, else Postgres.
 */
export async function throttle(rules: readonly RateLimitRule[], what: string): Promise<void> {
  const { signInLimiter } = await getPlatform();
  const decisions = await signInLimiter.check(rules);
  const refused = decisions.filter((d) => !d.allowed);
  if (refused.length === 0) return;
  const wait = Math.max(...refused.map((d) => d.retryAfterSeconds));
  throw data({ error: `Too many ${what} attempts. Try again in ${wait} s.` }, { status: 429, headers: { "retry-after": String(wait) } });
}
