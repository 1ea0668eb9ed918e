import pg from "pg";
import { Kysely, PostgresDialect, type Transaction } from "kysely";
import type { DB } from "./types.ts";

/**
 * The role application queries run as. It owns nothing and cannot bypass row-level security, so a
 * query that forgets its organisation filter sees no tenant rows instead of every tenant's rows.
 * Created by migrations/0001; the connecting user is granted membership so it can switch into it.
 */
export const APP_ROLE = "gpt_app";

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
  /** Runs as APP_ROLE on every connection: use for anything that touches tenant data. */
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
  url: string;
  /** Connections for the app pool; the owner pool gets a small fixed share. */
  maxConnections: number;
  applicationName: string;
}

export interface PoolOptions {
  max: number;
  applicationName: string;
  role?: string;
  /** Planner or session settings for every connection, e.g. { enable_seqscan: "off" }. */
  settings?: Record<string, string>;
}

export function createPool(url: string, options: PoolOptions): pg.Pool {
  // Startup options apply at session start, before any query can run: no code path can use one of
  // these connections as the owner by mistake (an on-connect SET ROLE would race the first query).
  const settings = { ...(options.role ? { role: options.role } : {}), ...options.settings };
  const startup = Object.entries(settings).map(([key, value]) => `-c ${key}=${value}`).join(" ");
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
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

export function connectDatabase(options: ConnectOptions): DatabaseHandles {
  const appPool = createPool(options.url, {
    max: options.maxConnections,
    applicationName: `${options.applicationName}:app`,
    role: APP_ROLE,
  });
  const ownerPool = createPool(options.url, { max: 4, applicationName: `${options.applicationName}:owner` });
  const app = new Kysely<DB>({ dialect: new PostgresDialect({ pool: appPool }) }) as AppDatabase;
  const owner = new Kysely<DB>({ dialect: new PostgresDialect({ pool: ownerPool }) }) as OwnerDatabase;
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
