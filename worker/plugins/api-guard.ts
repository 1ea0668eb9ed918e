import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiScope } from "../../core/auth/api-token.ts";
import { enforceLimit } from "./rate-limit.ts";

/**
 * The onRequest chain of every jobs API route, in the order that keeps strangers cheap: count the
 * client address, verify the token, count the token, check its scope. It runs before the body is
 * read, so an unauthenticated request never costs a parse.
 */
export function apiGuard(app: FastifyInstance, scope: ApiScope) {
  return [
    async (request: FastifyRequest, reply: FastifyReply) => enforceLimit(app.limits.perIp, `ip:${request.ip}`, reply, "from this address"),
    app.authenticate,
    async (request: FastifyRequest, reply: FastifyReply) =>
      enforceLimit(app.limits.perToken, `token:${request.auth!.jti}`, reply, "for this API token"),
    app.requireScope(scope),
  ];
}
