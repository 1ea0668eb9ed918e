import { z } from "zod";

/** Environment field builders shared by every process's schema, so a key means the same everywhere. */

export function integer(options: { min: number; max?: number; default?: number }) {
  const range = options.max === undefined ? `at least ${options.min}` : `between ${options.min} and ${options.max}`;
  const parsed = z
    .string()
    .regex(/^-?\d+$/, { error: `must be a whole number ${range}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(options.min, { error: `must be ${range}` })
        .max(options.max ?? Number.MAX_SAFE_INTEGER, { error: `must be ${range}` }),
    );
  return options.default === undefined ? parsed : parsed.optional().transform((v) => v ?? options.default!);
}

export function flag(defaultValue: boolean) {
  return z
    .enum(["true", "false", "1", "0"], { error: 'must be "true" or "false"' })
    .optional()
    .transform((v) => (v === undefined ? defaultValue : v === "true" || v === "1"));
}

export const postgresUrl = z
  .string({ error: "is required: a postgres://user:password@host:port/database URL" })
  .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
    error: "must be a postgres:// or postgresql:// URL",
  });

export const redisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\/[^\s]+$/.test(v) && URL.canParse(v), { error: "must be a redis:// or rediss:// URL" });

export const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), { error: "must be an http:// or https:// URL" });

/** Secrets must be long enough to resist guessing; 32 characters is the floor for HMAC and key derivation. */
export function secret(purpose: string) {
  return z
    .string({ error: `is required (${purpose}); generate one with: openssl rand -base64 48` })
    .min(32, { error: `must be at least 32 characters (${purpose}); generate one with: openssl rand -base64 48` });
}

export const logLevel = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
    error: "must be one of fatal, error, warn, info, debug, trace, silent",
  })
  .default("info");

export const host = z.string().default("127.0.0.1");

export const sentryDsn = z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol) && new URL(v).username !== "", {
  error: "must be a Sentry DSN such as https://<key>@<host>/<project>",
});

/** gpt_app's database password (the release step sets it; the processes log in with it). */
export const appDatabasePassword = z
  .string()
  .min(16, { error: "must be at least 16 characters; generate one with: openssl rand -base64 32" })
  .refine((v) => !/\s/.test(v), { error: "must not contain spaces" });

/**
 * TRUST_PROXY: how many proxies in front of the process append to X-Forwarded-For. "false" (0)
 * ignores the header; "true" means one; a number says how many. The client's address is then the
 * entry that many hops from the right: entries further left are whatever the client sent, so
 * trusting the leftmost one would let anyone choose their own address (and rate-limit key).
 */
export const proxyHops = z
  .enum(["true", "false", "0", "1", "2", "3", "4", "5"], {
    error: 'must be "false", "true" (one proxy) or the number of proxies in front (0-5)',
  })
  .optional()
  .transform((v) => (v === undefined || v === "false" ? 0 : v === "true" ? 1 : Number(v)));
