import { sql, type RawBuilder, type Transaction } from "kysely";
import { scopeSignerOf, type AppDatabase } from "./connect.ts";
import type { DB } from "./types.ts";

/**
 * A transaction scoped to one organisation, as withOrg opens it. The brand exists only for the
 * compiler: a plain transaction (or the pool) does not type-check where tenant code needs a scope.
 */
export type OrgTransaction = Transaction<DB> & { readonly __orgScoped: true };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Which organisation each open org-scoped transaction belongs to; entries vanish with the transaction. */
const orgOfTransaction = new WeakMap<object, string>();

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * The one way anything is scoped to an organisation: `set_config('app.org_scope', <signed scope>,
 * true)`, transaction-local, with a scope freshly signed by the owner-only key. The row-level
 * security policies and the app.* views read it through app.current_org_id(), which verifies the
 * signature; a value written by hand is refused there.
 */
async function setScope(db: AppDatabase, orgId: string): Promise<RawBuilder<string>> {
  if (!isUuid(orgId))
    throw new TypeError(`an organisation id (a UUID) is needed to scope to an organisation, got ${JSON.stringify(orgId)}`);
  const scope = await scopeSignerOf(db).scopeFor(orgId);
  // A bound parameter: the scope never appears in statement text (pg_stat_activity shows "$1").
  return sql<string>`set_config('app.org_scope', ${scope}, true)`;
}

/**
 * Runs `work` in a transaction scoped to one organisation. Commit or rollback ends the scope, so a
 * pooled connection never carries one tenant's scope into the next checkout.
 */
export async function withOrg<T>(db: AppDatabase, orgId: string, work: (trx: OrgTransaction) => Promise<T>): Promise<T> {
  const scope = await setScope(db, orgId);
  return db.transaction().execute(async (trx) => {
    await sql`SELECT ${scope}`.execute(trx);
    orgOfTransaction.set(trx, orgId);
    return work(trx as OrgTransaction);
  });
}

/**
 * One statement in its own implicit transaction, scoped to one organisation: a single round trip
 * for callers with nothing else to commit (the jobs API's enqueue). `statement` receives the scope
 * expression and must evaluate it before anything that reads the scope; a LATERAL reference to it,
 * as in `FROM (SELECT <scope> AS scope) s CROSS JOIN LATERAL f(s.scope ...)`, makes sure of that.
 */
export async function inOrgStatement<R>(
  db: AppDatabase,
  orgId: string,
  statement: (scope: RawBuilder<string>) => RawBuilder<R>,
): Promise<R[]> {
  const scope = await setScope(db, orgId);
  return (await statement(scope).execute(db)).rows;
}

/** The organisation a transaction opened by withOrg is scoped to, or undefined for any other handle. */
export function orgIdOf(trx: object): string | undefined {
  return orgOfTransaction.get(trx);
}
