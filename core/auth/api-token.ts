import { randomUUID } from "node:crypto";
import { createSigner } from "fast-jwt";
import { z } from "zod";

/**
 * API tokens are HS256 JWTs. The claims name the organisation the bearer acts for and what it may
 * do; the worker's jobs API accepts nothing else. `jti` identifies the token for rate limiting
 * (and for revocation, which the web app's token table adds).
 */
export const API_SCOPES = ["jobs:read", "jobs:write"] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const API_TOKEN_ALGORITHM = "HS256";
export const API_TOKEN_AUDIENCE = "gpt-platform:jobs-api";

export const apiTokenClaims = z.object({
  sub: z.string().min(1),
  org: z.uuid(),
  scopes: z.array(z.enum(API_SCOPES)),
  jti: z.string().min(1),
  // Required, not merely checked when present: a token without an audience may be meant for anything.
  aud: z.union([z.literal(API_TOKEN_AUDIENCE), z.array(z.string()).refine((a) => a.includes(API_TOKEN_AUDIENCE))], {
    error: `must name the audience ${API_TOKEN_AUDIENCE}`,
  }),
  iat: z.number().optional(),
  exp: z.number(),
});
export type ApiTokenClaims = z.output<typeof apiTokenClaims>;

export interface SignApiTokenOptions {
  orgId: string;
  subject: string;
  scopes: readonly ApiScope[];
  ttlSeconds: number;
}

/**
 * Signs a token. `jti` is the token's row in app.api_tokens (apiTokenCreate); a token without a
 * live row is refused by the jobs API, so only tokens created through apiTokenCreate are usable.
 */
export function signApiToken(secret: string, options: SignApiTokenOptions & { jti?: string }): string {
  const sign = createSigner({
    key: secret,
    algorithm: API_TOKEN_ALGORITHM,
    expiresIn: options.ttlSeconds * 1000,
    aud: API_TOKEN_AUDIENCE,
  });
  return sign({ sub: options.subject, org: options.orgId, scopes: [...options.scopes], jti: options.jti ?? randomUUID() });
}
