import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiScope } from "../../core/auth/api-token.ts";
import type { RateLimitRule } from "../../core/ratelimit/rate-limiter.ts";
import { tooManyRequests } from "./rate-limit.ts";

/**
 * The onRequest hook of every jobs API route. It verifies the token first (CPU only), then counts
 * the request against the client address and, when authenticated, the token, in one round trip.
 * A stranger guessing tokens is throttled by address; a refused token is a 401 unless the address
 * is over its limit. Runs before the body is read, so an unauthenticated request never costs a parse.
 */
export function apiGuard(app: FastifyInstance, scope: ApiScope) {
  const { config } = app;
  const requireScope = app.requireScope(scope);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    let authError: unknown;
    try {
      await app.authenticate(request);
    } catch (error) {
      authError = error;
    }
    const rules: RateLimitRule[] = [{ key: `ip:${request.ip}`, limit: config.API_RATE_LIMIT_PER_IP_PER_MINUTE }];
    if (!authError) rules.push({ key: `token:${request.auth!.jti}`, limit: config.API_RATE_LIMIT_PER_MINUTE });
    const [byAddress, byToken] = await app.limits.limiter.check(rules);
    const shown = byToken ?? byAddress!;
    reply.header("ratelimit-limit", shown.limit);
    reply.header("ratelimit-remaining", shown.remaining);
    const windowSeconds = app.limits.limiter.windowSeconds;
    if (!byAddress!.allowed) throw tooManyRequests(byAddress!, "from this address", windowSeconds);
    if (authError) throw authError;
    if (!byToken!.allowed) throw tooManyRequests(byToken!, "for this API token", windowSeconds);
    await requireScope(request);
  };
}
