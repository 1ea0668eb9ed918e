import { sql } from "kysely";
import type { DatabaseHandles } from "../db/connect.ts";
import { withOrg } from "../db/org-scope.ts";
import type { JobClient } from "./enqueue.ts";
import { testJob } from "./types/test-job.ts";

/**
 * App connections a worker opens and warms before serving, and keeps open while idle (at most its
 * pool's size). Four were not enough: when the first requests after a start queue for a moment,
 * the pool opens more connections, each cold, and each cold one's first enqueue costs 200–400 ms
 * while several start at once on two cores; requests queue further and the pool grows again.
 * Measured on a machine whose PostgreSQL was slower (`node bench/run.ts --latency-only`): p99
 * 1.1–1.8 s with four warm connections, 86–126 ms with twelve.
 */
export const WARM_APP_CONNECTIONS = 12;

/** How many app connections to warm for a pool of `poolMax`. */
export function warmAppConnections(poolMax: number): number {
  return Math.min(WARM_APP_CONNECTIONS, poolMax);
}

const NO_ORGANISATION = "00000000-0000-0000-0000-000000000000";

/** Thrown to roll a warm-up transaction back. */
class WarmUpDone extends Error {}

/**
 * A new gpt_app connection spends tens of milliseconds of database CPU on its first enqueue (the
 * row-level-security policies and catalogue entries loaded, the PL/pgSQL functions compiled, their
 * plans made). A process that opens several at once under its first requests stalls all of them:
 * measured as p99 stalls of 100–300 ms in the first half second after a start (issue 10). So
 * before serving, open `count` app connections at once and run the enqueue path on each, in a
 * transaction that rolls back: nothing is written and no NOTIFY is sent. Without any organisation
 * yet (a new database) only the scope check is warmed.
 */
export async function warmEnqueuePath(db: Pick<DatabaseHandles, "app" | "owner">, jobs: JobClient, count: number): Promise<void> {
  const someOrganisation = await db.owner.selectFrom("app.organisations").select("id").limit(1).executeTakeFirst();
  const warmOne = () =>
    withOrg(db.app, someOrganisation?.id ?? NO_ORGANISATION, async (trx) => {
      if (someOrganisation) await jobs.enqueue(trx, testJob.name, {});
      else await sql`SELECT app.current_org_id()`.execute(trx);
      throw new WarmUpDone();
    }).catch((error: unknown) => {
      if (!(error instanceof WarmUpDone)) throw error;
    });
  // All at once, so each runs on a connection of its own; two owner connections too (rate-limit
  // counters and token checks use them on a client's first request).
  await Promise.all([...Array.from({ length: count }, warmOne), ...Array.from({ length: 2 }, () => sql`SELECT 1`.execute(db.owner))]);
}
