import { createHmac } from "node:crypto";
import { sql } from "kysely";
import type { Kysely } from "kysely";
import type { DB } from "./types.ts";

/**
 * Signs organisation scopes (docs/decisions/009). A scope is
 * `v1.<key id>.<organisation>.<expires>.<HMAC-SHA256>` under the newest key of
 * ops.tenant_scope_keys, which only the owner can read; app.current_org_id() verifies it in the
 * database. SQL run as gpt_app can read its own transaction's scope but cannot make one for
 * another organisation, nor a fresh one once it expires.
 */

/** How long a signed scope verifies: far longer than any transaction, short enough to be useless once leaked. */
export const SCOPE_LIFETIME_SECONDS = 600;
/** How often the signing key (and the database clock) is read again, to follow a rotation. */
const RELOAD_AFTER_MS = 60_000;

interface SigningState {
  keyId: number;
  key: Buffer;
  /** Database clock minus this process's clock, in seconds: expiry is judged by the database. */
  clockOffsetSeconds: number;
  loadedAt: number;
}

export class ScopeKeyMissingError extends Error {
  constructor() {
    super("no tenant scope key in ops.tenant_scope_keys: run npm run migrate (migration 0009 creates it)");
    this.name = "ScopeKeyMissingError";
  }
}

export class TenantScopeSigner {
  readonly #owner: Kysely<DB>;
  #state: SigningState | undefined;
  #loading: Promise<SigningState> | undefined;

  /** `owner` must be a connection as the database owner: gpt_app cannot read the keys. */
  constructor(owner: Kysely<DB>) {
    this.#owner = owner;
  }

  /** A scope for `orgId` (a UUID, checked by the caller), valid for SCOPE_LIFETIME_SECONDS. */
  async scopeFor(orgId: string): Promise<string> {
    const state = await this.#current();
    const expires = Math.floor(Date.now() / 1000 + state.clockOffsetSeconds) + SCOPE_LIFETIME_SECONDS;
    const body = `v1.${state.keyId}.${orgId.toLowerCase()}.${expires}`;
    return `${body}.${createHmac("sha256", state.key).update(body).digest("hex")}`;
  }

  /** The key in hand, reloaded in the background once a minute old (callers never wait for that). */
  #current(): Promise<SigningState> | SigningState {
    const state = this.#state;
    if (state && Date.now() - state.loadedAt < RELOAD_AFTER_MS) return state;
    if (!this.#loading) {
      this.#loading = this.#load().finally(() => {
        this.#loading = undefined;
      });
    }
    const loading = this.#loading;
    // A stale key still signs (a rotated key verifies for its grace period); only the first load waits.
    if (state) {
      loading.catch(() => {});
      return state;
    }
    return loading;
  }

  async #load(): Promise<SigningState> {
    const before = Date.now();
    const { rows } = await sql<{ id: number; key: Buffer; db_now: string }>`
      SELECT k.id, k.key, extract(epoch FROM clock_timestamp())::text AS db_now
      FROM ops.tenant_scope_keys k WHERE k.retired_at IS NULL ORDER BY k.id DESC LIMIT 1
    `.execute(this.#owner);
    const row = rows[0];
    if (!row) throw new ScopeKeyMissingError();
    const midpoint = (before + Date.now()) / 2;
    this.#state = { keyId: row.id, key: row.key, clockOffsetSeconds: Number(row.db_now) - midpoint / 1000, loadedAt: Date.now() };
    return this.#state;
  }
}
