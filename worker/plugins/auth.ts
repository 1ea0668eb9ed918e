import fastifyJwt from "@fastify/jwt";
import fp from "fastify-plugin";
import { API_TOKEN_ALGORITHM, API_TOKEN_AUDIENCE, apiTokenClaims, type ApiScope } from "../../core/auth/api-token.ts";
import { ApiTokenRegistry } from "../../core/auth/api-token-registry.ts";
import { HttpError } from "../http-error.ts";

/** Why a token was refused, in words a client developer can act on. */
function unauthorized(code: string, message: string): HttpError {
  return new HttpError(401, code, message, {}, { "www-authenticate": `Bearer realm="gpt-platform", error="invalid_token"` });
}

/**
 * Bearer-token authentication for the jobs API. Only HS256 tokens signed with JWT_SECRET for this
 * API's audience pass; `alg: none`, other algorithms, forged signatures and expired tokens fail
 * with 401; claims are checked against the schema, and the token must still have a live row in
 * app.api_tokens (revocation takes effect at once, through the registry's NOTIFY).
 */
export const authPlugin = fp(
  async (app) => {
    await app.register(fastifyJwt, {
      secret: app.config.JWT_SECRET,
      // Verified tokens are cached (never past their own exp): clients send the same token on every
      // request, and an HMAC plus a JSON parse per request is CPU the jobs API does not need to spend.
      verify: { algorithms: [API_TOKEN_ALGORITHM], allowedAud: API_TOKEN_AUDIENCE, cache: 10_000 },
    });
    app.decorateRequest("auth", null);
    const registry = new ApiTokenRegistry({
      db: app.db.owner,
      url: app.config.DATABASE_URL,
      onLost: (error) =>
        app.log.warn({ err: error }, "token revocation notices lost; checking tokens against the database until reconnected"),
    });
    await registry.start();
    app.addHook("onClose", () => registry.stop());

    app.decorate("authenticate", async (request) => {
      if (!request.headers.authorization) {
        throw unauthorized("missing_token", "send an API token: Authorization: Bearer <token> (create one with npm run token)");
      }
      let payload: unknown;
      try {
        payload = await request.jwtVerify();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "FST_JWT_AUTHORIZATION_TOKEN_EXPIRED")
          throw unauthorized("token_expired", "the API token has expired; create a new one");
        if (code === "FST_JWT_BAD_REQUEST")
          throw unauthorized("malformed_authorization", "the Authorization header must be: Bearer <token>");
        throw unauthorized("invalid_token", "the API token is not valid for this service (bad signature, algorithm or audience)");
      }
      const claims = apiTokenClaims.safeParse(payload);
      if (!claims.success) throw unauthorized("invalid_token", "the API token lacks the organisation, scopes or id this API needs");
      if (!(await registry.isActive(claims.data.jti, claims.data.org))) {
        throw unauthorized("token_revoked", "this API token was revoked or is unknown; create a new one on the API tokens page");
      }
      request.auth = claims.data;
    });

    app.decorate("requireScope", (scope: ApiScope) => async (request) => {
      if (!request.auth?.scopes.includes(scope)) {
        throw new HttpError(403, "missing_scope", `this API token lacks the "${scope}" scope`, { requiredScope: scope });
      }
    });
  },
  { name: "auth", dependencies: ["database"] },
);
