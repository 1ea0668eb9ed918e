import pg from "pg";
import { Kysely, PostgresDialect, type Transaction } from "kysely";
import { appDatabaseUrl } from "./app-role.ts";
import { TenantScopeSigner } from "./tenant-scope.ts";
import type { DB } from "./types.ts";

export type Database = Kysely<DB>;

/**
 * Distinct compile-time types for the two handles, so a function that must respect tenancy
 * (withOrg) cannot be handed the owner connection by accident.
 */
export type AppDatabase = Database & { readonly __role: "app" };
export type OwnerDatabase = Database & { readonly __role: "owner" };
/** The owner handle, or a transaction opened on it (transactions do not carry the brand). */
export type OwnerHandle = OwnerDatabase | Transaction<DB>;

export interface DatabaseHandles {
  /** Logs in as gpt_app (APP_ROLE): use for anything that touches tenant data, through withOrg. */
  app: AppDatabase;
  /**
   * Runs as the connecting (owning) user: migrations, the queue engine, operator tables in `ops`.
   * Never use it to read tenant data on behalf of a request.
   */
  owner: OwnerDatabase;
  appPool: pg.Pool;
  ownerPool: pg.Pool;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** The owner's URL (DATABASE_URL). */
  url: string;
  /** Where gpt_app logs in (APP_DATABASE_URL); derived from `url` and `appPassword` when unset. */
  appUrl?: string;
  /** gpt_app's password for the derived URL (APP_DATABASE_PASSWORD); none for trust/peer auth. */
  appPassword?: string;
  /** Connections for the app pool; the owner pool gets a small fixed share. */
  maxConnections: number;
  /** App connections kept open however idle the process is (a new one is slow at first: core/jobs/warm-up.ts). */
  minConnections?: number;
  applicationName: string;
}

export interface PoolOptions {
  max: number;
  /** Connections the pool keeps when idle (0 by default: all close after 30 s idle). */
  min?: number;
  applicationName: string;
  /** Planner or session settings for every connection, e.g. { enable_seqscan: "off" }. */
  settings?: Record<string, string>;
}

export function createPool(url: string, options: PoolOptions): pg.Pool {
  // Startup options apply at session start, before any query can run.
  const startup = Object.entries(options.settings ?? {})
    .map(([key, value]) => `-c ${key}=${value}`)
    .join(" ");
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    min: options.min ?? 0,
    application_name: options.applicationName,
    options: startup || undefined,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that loses its server (restart, failover) emits 'error' on the pool; without a
  // listener that would crash the process. The next checkout gets a fresh connection.
  pool.on("error", () => {});
  return pool;
}

/** Signs the organisation scopes of each app handle (withOrg finds it here). */
const signers = new WeakMap<AppDatabase, TenantScopeSigner>();

export function scopeSignerOf(db: AppDatabase): TenantScopeSigner {
  const signer = signers.get(db);
  if (!signer) throw new TypeError("this database handle was not opened by connectDatabase, so it cannot scope to an organisation");
  return signer;
}

export function connectDatabase(options: ConnectOptions): DatabaseHandles {
  // gpt_app logs in as itself (not the owner switching role), so SQL on these connections has no
  // stronger session user to SET ROLE back to.
  const appPool = createPool(options.appUrl ?? appDatabaseUrl(options.url, options.appPassword), {
    max: options.maxConnections,
    min: Math.min(options.minConnections ?? 0, options.maxConnections),
    applicationName: `${options.applicationName}:app`,
  });
  const ownerPool = createPool(options.url, { max: 4, applicationName: `${options.applicationName}:owner` });
  const app = new Kysely<DB>({ dialect: new PostgresDialect({ pool: appPool }) }) as AppDatabase;
  const owner = new Kysely<DB>({ dialect: new PostgresDialect({ pool: ownerPool }) }) as OwnerDatabase;
  signers.set(app, new TenantScopeSigner(owner));
  let closed: Promise<void> | undefined;
  return {
    app,
    owner,
    appPool,
    ownerPool,
    close() {
      // Kysely's destroy() ends the pool it was given; idempotent so every shutdown path may call it.
      closed ??= Promise.all([app.destroy(), owner.destroy()]).then(() => undefined);
      return closed;
    },
  };
}
