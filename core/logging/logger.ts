import { pino, type Logger, type LoggerOptions } from "pino";
import { scrubSecrets } from "./scrub-secrets.ts";

/**
 * Paths pino replaces with "[redacted]" before a line is written. Covers request headers that carry
 * credentials and any field named like a secret at the top level or one/two levels down (job
 * payloads, config dumps, error contexts).
 */
const SECRET_FIELDS = [
  "password",
  "passwordHash",
  "password_hash",
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "apiKey",
  "api_key",
  "secret",
  "clientSecret",
  "client_secret",
  "authorization",
  "cookie",
  "jwt",
  "encryptionKey",
  "JWT_SECRET",
  "ENCRYPTION_KEY",
  "METRICS_TOKEN",
  "DATABASE_URL",
  "REDIS_URL",
  "SENTRY_DSN",
];

export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
];

/**
 * Errors keep their type, message and stack, with anything that looks like a credential taken out
 * of the text: a handler's error may quote a connection string or an upstream's response.
 */
function scrubbedError(error: Error): ReturnType<typeof pino.stdSerializers.err> {
  const serialized = pino.stdSerializers.err(error);
  if (!serialized || typeof serialized !== "object") return serialized;
  if (typeof serialized.message === "string") serialized.message = scrubSecrets(serialized.message);
  if (typeof serialized.stack === "string") serialized.stack = scrubSecrets(serialized.stack);
  return serialized;
}

export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { err: scrubbedError, error: scrubbedError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(name: string, level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(name, level), destination) : pino(loggerOptions(name, level));
}

export type { Logger };
