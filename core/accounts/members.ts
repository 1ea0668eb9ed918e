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

/** Removes a member; the last owner cannot be removed. */
export async function memberRemove(trx: OrgTransaction, userId: string): Promise<boolean> {
  const owners = await trx.selectFrom("app.memberships").select("user_id").where("role", "=", "owner").execute();
  if (owners.length === 1 && owners[0]!.user_id === userId) throw new LastOwnerError();
  const result = await trx.deleteFrom("app.memberships").where("user_id", "=", userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
