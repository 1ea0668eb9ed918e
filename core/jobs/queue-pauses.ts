import { sql } from "kysely";
import type { AppDatabase, OwnerHandle } from "../db/connect.ts";
import { withOrg, type OrgTransaction } from "../db/org-scope.ts";
import { notifyChannelSql } from "./engine.ts";

/**
 * Pauses of job types (app.queue_pauses, migrations/0014): for every organisation (operators,
 * ops.pause_queue) or for one. The runner's claim skips paused jobs; they stay waiting.
 */

export interface QueuePause {
  queue: string;
  /** False: paused for every organisation by an operator. */
  ownOrganisation: boolean;
  pausedAt: Date;
  pausedBy: string;
  reason: string | null;
}

/** The pauses that hold back this organisation's jobs: its own and the queue-wide ones. */
export async function queuePausesForOrg(trx: OrgTransaction): Promise<QueuePause[]> {
  const rows = await trx.selectFrom("app.queue_pauses").selectAll().orderBy("queue").orderBy("org_id").execute();
  return rows.map((r) => ({
    queue: r.queue,
    ownOrganisation: r.org_id !== null,
    pausedAt: r.paused_at,
    pausedBy: r.paused_by,
    reason: r.reason,
  }));
}

/** Pauses `queue` for the transaction's organisation; pausing again keeps the first pause. */
export async function queuePauseForOrg(trx: OrgTransaction, queue: string, pausedBy: string, reason: string | null): Promise<void> {
  await trx
    .insertInto("app.queue_pauses")
    .values({ queue, org_id: sql<string>`app.current_org_id()`, paused_by: pausedBy, reason })
    .onConflict((c) => c.columns(["queue", "org_id"]).doNothing())
    .execute();
}

/**
 * Lifts the organisation's own pause of `queue` and, once that has committed, wakes the workers
 * (woken before the commit, they would still see the pause and wait for their next poll). Returns
 * whether there was a pause, and the pauses that still hold the organisation's jobs.
 */
export async function queueResume(
  db: { app: AppDatabase; owner: OwnerHandle },
  orgId: string,
  queue: string,
): Promise<{ resumed: boolean; pauses: QueuePause[] }> {
  const result = await withOrg(db.app, orgId, async (trx) => {
    const deleted = await trx
      .deleteFrom("app.queue_pauses")
      .where("queue", "=", queue)
      .where("org_id", "=", sql<string>`app.current_org_id()`)
      .executeTakeFirst();
    return { resumed: Number(deleted.numDeletedRows) > 0, pauses: await queuePausesForOrg(trx) };
  });
  if (result.resumed) await sql`SELECT pg_notify(${sql.raw(notifyChannelSql())}, ${queue})`.execute(db.owner);
  return result;
}
