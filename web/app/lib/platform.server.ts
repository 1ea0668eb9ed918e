import { Redis } from "ioredis";
import type { PgBoss } from "pg-boss";
import { loadWebConfig, type WebConfig } from "../../../core/config/web-config.ts";
import { connectDatabase, type DatabaseHandles } from "../../../core/db/connect.ts";
import { createQueueEngine } from "../../../core/jobs/engine.ts";
import { JobClient } from "../../../core/jobs/enqueue.ts";
import { createLogger, type Logger } from "../../../core/logging/logger.ts";
import { LogMailer, type Mailer } from "../../../core/mail/mailer.ts";
import { initSentry } from "../../../core/observability/sentry.ts";
import { PostgresRateLimitStore } from "../../../core/ratelimit/postgres-store.ts";
import { FallbackStore, RateLimiter, type RateLimitStore } from "../../../core/ratelimit/rate-limiter.ts";
import { RedisRateLimitStore } from "../../../core/ratelimit/redis-store.ts";
import { PLATFORM_VERSION } from "../../../core/version.ts";

/**
 * The web process's long-lived resources, created on first use and shared by every request.
 * Server-only (.server.ts): none of it reaches the browser bundle.
 */
export interface Platform {
  config: WebConfig;
  db: DatabaseHandles;
  boss: PgBoss;
  jobs: JobClient;
  /** Sign-in attempts: 15-minute windows, per address and per email. */
  signInLimiter: RateLimiter;
  redis: Redis | undefined;
  mailer: Mailer;
  log: Logger;
}

const SIGN_IN_WINDOW_SECONDS = 15 * 60;

let platform: Promise<Platform> | undefined;
let logger: Logger | undefined;

/** The web process's logger; usable even when the platform cannot start (to say why). */
export function webLog(): Logger {
  logger ??= createLogger("web", loadWebConfig(process.env).LOG_LEVEL);
  return logger;
}

export function getPlatform(): Promise<Platform> {
  // A failed start (database down) is not cached: the next request tries again.
  platform ??= createPlatform().catch((error: unknown) => {
    platform = undefined;
    webLog().error(
      { err: error },
      "web: could not connect to the database or the queue; retrying with the next request (check DATABASE_URL and that PostgreSQL is up)",
    );
    throw error;
  });
  return platform;
}

async function createPlatform(): Promise<Platform> {
  const config = loadWebConfig(process.env);
  const log = webLog();
  initSentry({ dsn: config.SENTRY_DSN, environment: config.SENTRY_ENVIRONMENT, release: PLATFORM_VERSION, serverName: "web" });
  const db = connectDatabase({
    url: config.DATABASE_URL,
    appUrl: config.APP_DATABASE_URL,
    appPassword: config.APP_DATABASE_PASSWORD,
    maxConnections: config.DATABASE_POOL_MAX,
    applicationName: "gpt-platform:web",
  });
  // The web app sends and retries jobs; it runs none of pg-boss's background duties.
  const boss = createQueueEngine({
    url: config.DATABASE_URL,
    applicationName: "gpt-platform:web:queue",
    maxConnections: 4,
    superviseIntervalSeconds: 60,
    runsMaintenance: false,
  });
  boss.on("error", (error: Error) => log.error({ err: error }, "queue engine error"));
  await boss.start().catch(async (error: unknown) => {
    await db.close();
    throw error;
  });

  const postgres = new PostgresRateLimitStore(db.owner);
  let store: RateLimitStore = postgres;
  let redis: Redis | undefined;
  if (config.REDIS_URL) {
    redis = new Redis(config.REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
    redis.on("error", () => {});
    await redis
      .connect()
      .catch((error: Error) => log.warn({ err: error }, "Redis is unreachable; sign-in limits use Postgres until it is back"));
    store = new FallbackStore(new RedisRateLimitStore(redis, "gpt-platform:signin:"), postgres, (error) =>
      log.warn({ err: error }, "Redis rate-limit store failed; using Postgres"),
    );
  }
  return {
    config,
    db,
    boss,
    jobs: new JobClient(db.app),
    signInLimiter: new RateLimiter(store, { windowSeconds: SIGN_IN_WINDOW_SECONDS }),
    redis,
    // Served over https means a real deployment: mail bodies (one-time links) stay out of its logs.
    mailer: new LogMailer(config.MAIL_FROM, (fields, message) => log.info(fields, message), {
      includeBody: !config.WEB_PUBLIC_URL.startsWith("https://"),
    }),
    log,
  };
}

/** Closes everything (the server calls it on shutdown through the build's entry module). */
export async function closePlatform(): Promise<void> {
  if (!platform) return;
  const p = await platform;
  await p.boss.stop({ graceful: false, close: true });
  p.redis?.disconnect();
  await p.db.close();
}
