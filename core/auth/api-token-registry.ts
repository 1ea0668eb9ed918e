import type { OwnerDatabase } from "../db/connect.ts";
import { PgListener } from "../db/listener.ts";
import { API_TOKEN_REVOKED_CHANNEL, apiTokenState } from "./api-tokens.ts";

/** How long a token's state is trusted without a notification, should one ever be missed. */
const CACHE_TTL_MS = 60_000;

/**
 * Answers "may this token be used?" for the jobs API without a database round trip per request:
 * each token is looked up once, then cached. A revocation anywhere (the web app's token page)
 * arrives as a NOTIFY and drops the cached entry at once; if the listening connection drops, the
 * whole cache is cleared when it comes back, since notifications may have been missed meanwhile.
 */
export class ApiTokenRegistry {
  readonly #db: OwnerDatabase;
  readonly #listener: PgListener;
  /**
   * By token id (what a revocation names), holding the organisation the token's row belongs to, so
   * a token that names another organisation is refused without touching the real one's entry.
   */
  readonly #cache = new Map<string, { orgId: string | undefined; active: boolean; until: number }>();
  /** Bumped by every revocation and reconnect: a lookup that straddles one must not be cached. */
  #generation = 0;

  constructor(options: { db: OwnerDatabase; url: string; onLost: (error: Error) => void }) {
    this.#db = options.db;
    this.#listener = new PgListener({
      url: options.url,
      applicationName: "gpt-platform:worker:tokens",
      channels: [{ name: API_TOKEN_REVOKED_CHANNEL }],
      onNotification: (_channel, jti) => {
        this.#generation++;
        if (jti) this.#cache.set(jti, { orgId: this.#cache.get(jti)?.orgId, active: false, until: Date.now() + CACHE_TTL_MS });
      },
      onListening: () => {
        this.#generation++;
        this.#cache.clear();
      },
      onLost: (error) => {
        this.#generation++;
        this.#cache.clear();
        options.onLost(error);
      },
    });
  }

  start(): Promise<void> {
    return this.#listener.start();
  }

  /** Whether token `jti` is live and belongs to `orgId` (the organisation its JWT names). */
  async isActive(jti: string, orgId: string): Promise<boolean> {
    const cached = this.#cache.get(jti);
    if (cached && cached.until > Date.now()) return cached.active && cached.orgId === orgId;
    // While notifications are not flowing, ask the database every time.
    const generation = this.#generation;
    const state = await apiTokenState(this.#db, jti);
    // A revocation that arrived during the lookup may postdate what it read: answer, but do not cache.
    if (this.#listener.connected && generation === this.#generation) {
      if (this.#cache.size > 50_000) this.#cache.clear();
      this.#cache.set(jti, { orgId: state?.orgId, active: state?.active ?? false, until: Date.now() + CACHE_TTL_MS });
    }
    return (state?.active ?? false) && state?.orgId === orgId;
  }

  stop(): Promise<void> {
    return this.#listener.stop();
  }
}
