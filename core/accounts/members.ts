import { sql } from "kysely";
import type { OrgTransaction } from "../db/org-scope.ts";
import type { Role } from "./users.ts";

/** The current organisation's members, read and changed under row-level security. */

export interface MemberView {
  userId: string;
  email: string;
  displayName: string | null;
  role: Role;
  joinedAt: Date;
}

export async function membersList(trx: OrgTransaction): Promise<MemberView[]> {
  const rows = await trx
    .selectFrom("app.memberships as m")
    .innerJoin("app.users as u", "u.id", "m.user_id")
    .select(["u.id", "u.email", "u.display_name", "m.role", "m.created_at"])
    .orderBy("m.created_at")
    .execute();
  return rows.map((r) => ({ userId: r.id, email: r.email, displayName: r.display_name, role: r.role as Role, joinedAt: r.created_at }));
}

export class LastOwnerError extends Error {
  constructor() {
    super("an organisation needs at least one owner; make someone else owner first");
    this.name = "LastOwnerError";
  }
}

export class OwnerOnlyError extends Error {
  constructor() {
    super("only an owner can remove an owner");
    this.name = "OwnerOnlyError";
  }
}

/**
 * Removes a member on behalf of `actorRole` (an owner or admin): only owners remove owners. The
 * database keeps the last owner (and revokes the API tokens the member created); its refusal
 * becomes LastOwnerError.
 */
export async function memberRemove(trx: OrgTransaction, userId: string, actorRole: Role): Promise<boolean> {
  const target = await trx.selectFrom("app.memberships").select("role").where("user_id", "=", userId).executeTakeFirst();
  if (!target) return false;
  if (target.role === "owner" && actorRole !== "owner") throw new OwnerOnlyError();
  // A savepoint, so that the database's refusal leaves the caller's transaction usable (and
  // committable) for the answer that explains it.
  await sql`SAVEPOINT member_remove`.execute(trx);
  try {
    const result = await trx.deleteFrom("app.memberships").where("user_id", "=", userId).executeTakeFirst();
    await sql`RELEASE SAVEPOINT member_remove`.execute(trx);
    return Number(result.numDeletedRows) === 1;
  } catch (error) {
    await sql`ROLLBACK TO SAVEPOINT member_remove`.execute(trx);
    // migrations/0009's membership_removed trigger.
    if ((error as { constraint?: string }).constraint === "memberships_last_owner") throw new LastOwnerError();
    throw error;
  }
}
