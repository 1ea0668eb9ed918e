import { sql } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";
import type { RateLimitStore, WindowCount } from "./rate-limiter.ts";

/**
 * Counters in ops.rate_limit_windows (UNLOGGED): one row per key, reset when a new window starts.
 * One statement for all the keys of a request; the database clock defines windows, so every
 * replica agrees.
 */
export class PostgresRateLimitStore implements RateLimitStore {
  readonly kind = "postgres";
  readonly #db: OwnerDatabase;

  constructor(db: OwnerDatabase) {
    this.#db = db;
  }

  async hit(keys: readonly string[], windowSeconds: number): Promise<WindowCount[]> {
    const { rows } = await sql<{ key: string; hits: number; seconds_left: number; window_start: number }>`
      INSERT INTO ops.rate_limit_windows AS w (key, window_start, hits)
      SELECT k, to_timestamp(floor(extract(epoch FROM clock_timestamp()) / ${windowSeconds}) * ${windowSeconds}), 1
      FROM unnest(${[...keys]}::text[]) AS k
      ON CONFLICT (key) DO UPDATE
        SET hits = CASE WHEN w.window_start = excluded.window_start THEN w.hits + 1 ELSE 1 END,
            window_start = excluded.window_start
      RETURNING key, hits, extract(epoch FROM w.window_start)::float8 AS window_start,
        greatest(1, ceil(extract(epoch FROM w.window_start + make_interval(secs => ${windowSeconds}) - clock_timestamp())))::int AS seconds_left
    `.execute(this.#db);
    const byKey = new Map(rows.map((r) => [r.key, { hits: r.hits, secondsLeft: r.seconds_left, windowStart: r.window_start }]));
    return keys.map((key) => byKey.get(key)!);
  }

  /** Deletes counters of windows that ended long ago; returns how many. */
  async sweep(olderThanSeconds: number): Promise<number> {
    const result = await sql`
      DELETE FROM ops.rate_limit_windows WHERE window_start < clock_timestamp() - make_interval(secs => ${olderThanSeconds})
    `.execute(this.#db);
    return Number(result.numAffectedRows ?? 0);
  }
}
