import { createHash } from "node:crypto";
import type pg from "pg";
import type { Db as IDatabase } from "pg-boss";

/**
 * A pg-boss database adapter over a pool or one connection that runs every statement as a named
 * prepared statement.
 * pg-boss's insert is a long CTE; preparing it lets each connection parse and plan it once instead
 * of on every job. Names derive from the SQL text, which pg-boss builds per queue, so the set of
 * statements stays small and a name never maps to two texts.
 */
/** Statement names by SQL text, shared by every adapter (names are per text, not per connection). */
const names = new Map<string, string>();

export function preparedStatementAdapter(queryable: pg.Pool | pg.PoolClient): IDatabase {
  return {
    async executeSql(text: string, values?: unknown[]) {
      let name = names.get(text);
      if (name === undefined) {
        name = `pgboss_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`;
        names.set(text, name);
      }
      const result = await queryable.query({ name, text, values: values ?? [] });
      return { rows: result.rows };
    },
  };
}
