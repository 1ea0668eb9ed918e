import { sql } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";

/**
 * The operator-only plans page's reads and writes. Every function takes the owner's handle: they
 * work across organisations. Who is an operator comes with the session (sessionByToken reads
 * ops.platform_operators, which gpt_app cannot read or write; migrations/0017).
 */

export interface OrganisationPlanRow {
  orgId: string;
  name: string;
  slug: string;
  planId: string;
  /** false: on the default plan, without a subscription of its own. */
  assigned: boolean;
  assignedAt: Date | null;
  assignedBy: string | null;
  note: string | null;
}

/** At most this many organisations per page: the page searches rather than lists them all. */
export const OPERATOR_PAGE_SIZE = 50;

/** Organisations whose name or slug contains `search` (all when empty), by name, with their plans. */
export async function organisationPlans(owner: OwnerDatabase, search: string): Promise<OrganisationPlanRow[]> {
  const pattern = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const { rows } = await sql<{
    org_id: string;
    name: string;
    slug: string;
    plan_id: string;
    assigned: boolean;
    assigned_at: Date | null;
    assigned_by: string | null;
    note: string | null;
  }>`
    SELECT o.id AS org_id, o.name, o.slug,
      (ops.plan_of(o.id)).id AS plan_id,
      s.org_id IS NOT NULL AS assigned, s.assigned_at, s.assigned_by, s.note
    FROM app.organisations o
    LEFT JOIN app.subscriptions s ON s.org_id = o.id
    WHERE ${search === "" ? sql`true` : sql`(o.name ILIKE ${pattern} OR o.slug ILIKE ${pattern})`}
    ORDER BY lower(o.name), o.id
    LIMIT ${OPERATOR_PAGE_SIZE + 1}
  `.execute(owner);
  return rows.map((r) => ({
    orgId: r.org_id,
    name: r.name,
    slug: r.slug,
    planId: r.plan_id,
    assigned: r.assigned,
    assignedAt: r.assigned_at,
    assignedBy: r.assigned_by,
    note: r.note,
  }));
}

/** Why an assignment was refused, in words for the page (ops.assign_plan's 22023 errors). */
export class PlanAssignmentError extends Error {}

/**
 * Moves an organisation to a plan through ops.assign_plan, as psql would; the note records who did
 * it from the web app (the subscription's assigned_by names the database user, the web app's).
 */
export async function planAssign(
  owner: OwnerDatabase,
  input: { orgId: string; planId: string; note: string; byEmail: string },
): Promise<void> {
  const note = `${input.note.trim() === "" ? "" : `${input.note.trim()} `}(by ${input.byEmail} on the operator page)`.slice(0, 500);
  try {
    await sql`SELECT ops.assign_plan(${input.orgId}::uuid, ${input.planId}, ${note})`.execute(owner);
  } catch (error) {
    if ((error as { code?: string }).code === "22023")
      throw new PlanAssignmentError((error as Error).message.replace(/^ops\.assign_plan: /, ""));
    throw error;
  }
}
