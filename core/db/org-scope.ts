import { sql, type Transaction } from "kysely";
import type { AppDatabase } from "./connect.ts";
import type { DB } from "./types.ts";

export type OrgTransaction = Transaction<DB>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which organisation each open org-scoped transaction belongs to; entries vanish with the transaction. */
const orgOfTransaction = new WeakMap<object, string>();

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * Runs `work` in a transaction scoped to one organisation: `app.org_id` is set for the transaction
 * only (set_config(..., true)), and the row-level security policies read it. Commit or rollback
 * clears it, so a pooled connection never carries one tenant's scope into the next checkout.
 */
export async function withOrg<T>(db: AppDatabase, orgId: string, work: (trx: OrgTransaction) => Promise<T>): Promise<T> {
  if (!isUuid(orgId)) throw new TypeError(`withOrg needs an organisation id (a UUID), got ${JSON.stringify(orgId)}`);
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('app.org_id', ${orgId}, true)`.execute(trx);
    orgOfTransaction.set(trx, orgId);
    return work(trx);
  });
}

/** The organisation a transaction opened by withOrg is scoped to, or undefined for any other handle. */
export function orgIdOf(trx: object): string | undefined {
  return orgOfTransaction.get(trx);
}
