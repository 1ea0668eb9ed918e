import { pino, type Logger, type LoggerOptions } from "pino";

/**
 * Paths pino replaces with "[redacted]" before a line is written. Covers request headers that carry
 * credentials and any field named like a secret at the top level or one/two levels down (job
 * payloads, config dumps, error contexts).
 */
const SECRET_FIELDS = [
  "password", "passwordHash", "password_hash", "token", "accessToken", "access_token", "refreshToken",
  "refresh_token", "apiKey", "api_key", "secret", "clientSecret", "client_secret", "authorization",
  "cookie", "jwt", "encryptionKey", "JWT_SECRET", "ENCRYPTION_KEY", "METRICS_TOKEN", "DATABASE_URL", "REDIS_URL", "SENTRY_DSN",
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

export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    // Error objects logged under `err` keep their type, message and stack.
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(name: string, level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(name, level), destination) : pino(loggerOptions(name, level));
}

export type { Logger };
