import { sql } from "kysely";
import { INVITATION_LIFETIME_DAYS } from "./constants.ts";
import type { OwnerDatabase, OwnerHandle } from "../db/connect.ts";
import type { OrgTransaction } from "../db/org-scope.ts";
import { hashToken, newSecretToken } from "./tokens.ts";
import { normaliseEmail, type Role } from "./users.ts";

/**
 * Invitations into an organisation: created and listed inside the organisation's scope; accepted
 * through the link by the person whose email it names (so a forwarded link is no use to anyone else).
 */

export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  createdAt: Date;
  expiresAt: Date;
  status: "pending" | "accepted" | "revoked" | "expired";
}

export class InvitationInvalidError extends Error {
  constructor(message = "this invitation is invalid, expired, revoked or already accepted; ask for a new one") {
    super(message);
    this.name = "InvitationInvalidError";
  }
}

export async function invitationCreate(
  trx: OrgTransaction,
  input: { orgId: string; email: string; role: Role; invitedBy: string },
): Promise<{ id: string; token: string }> {
  const { token, hash } = newSecretToken();
  const row = await trx
    .insertInto("app.invitations")
    .values({
      org_id: input.orgId,
      email: normaliseEmail(input.email),
      role: input.role,
      token_hash: hash,
      invited_by: input.invitedBy,
      expires_at: sql<Date>`now() + make_interval(days => ${INVITATION_LIFETIME_DAYS})`,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

export async function invitationsList(trx: OrgTransaction): Promise<InvitationView[]> {
  const rows = await trx
    .selectFrom("app.invitations")
    .select(["id", "email", "role", "created_at", "expires_at", "accepted_at", "revoked_at"])
    .orderBy("created_at", "desc")
    .limit(100)
    .execute();
  const now = Date.now();
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    role: r.role as Role,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: r.accepted_at ? "accepted" : r.revoked_at ? "revoked" : r.expires_at.getTime() < now ? "expired" : "pending",
  }));
}

export async function invitationRevoke(trx: OrgTransaction, id: string): Promise<boolean> {
  const result = await trx
    .updateTable("app.invitations")
    .set({ revoked_at: sql`now()` })
    .where("id", "=", id)
    .where("accepted_at", "is", null)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface PendingInvitation {
  id: string;
  orgId: string;
  orgName: string;
  email: string;
  role: Role;
}

/** The open invitation behind a link, across organisations (the invitee has no scope yet). */
export async function invitationByToken(db: OwnerHandle, token: string): Promise<PendingInvitation | undefined> {
  const row = await db
    .selectFrom("app.invitations as i")
    .innerJoin("app.organisations as o", "o.id", "i.org_id")
    .select(["i.id", "i.org_id", "o.name", "i.email", "i.role"])
    .where("i.token_hash", "=", hashToken(token))
    .where("i.accepted_at", "is", null)
    .where("i.revoked_at", "is", null)
    .where("i.expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
  return row && { id: row.id, orgId: row.org_id, orgName: row.name, email: row.email, role: row.role as Role };
}

/** Adds the user to the invitation's organisation (keeping a stronger existing role) and spends it. */
export async function invitationAccept(db: OwnerDatabase, token: string, user: { id: string; email: string }): Promise<PendingInvitation> {
  return db.transaction().execute(async (trx) => {
    const invitation = await invitationByToken(trx, token);
    if (!invitation) throw new InvitationInvalidError();
    return invitationAcceptPending(trx, invitation.id, user);
  });
}

/**
 * Accepts the open invitation `invitationId` for `user`, in the caller's owner transaction (a
 * confirmed sign-up from an invitation, or invitationAccept): only the person it names may.
 */
export async function invitationAcceptPending(
  trx: OwnerHandle,
  invitationId: string,
  user: { id: string; email: string },
): Promise<PendingInvitation> {
  const row = await trx
    .selectFrom("app.invitations as i")
    .innerJoin("app.organisations as o", "o.id", "i.org_id")
    .select(["i.id", "i.org_id", "o.name", "i.email", "i.role"])
    .where("i.id", "=", invitationId)
    .where("i.accepted_at", "is", null)
    .where("i.revoked_at", "is", null)
    .where("i.expires_at", ">", sql<Date>`now()`)
    .forUpdate("i")
    .executeTakeFirst();
  if (!row) throw new InvitationInvalidError();
  if (normaliseEmail(user.email) !== row.email) {
    throw new InvitationInvalidError(`this invitation is for ${row.email}; sign in with that address to accept it`);
  }
  await trx
    .insertInto("app.memberships")
    .values({ org_id: row.org_id, user_id: user.id, role: row.role })
    .onConflict((oc) => oc.columns(["org_id", "user_id"]).doNothing())
    .execute();
  await trx.updateTable("app.invitations").set({ accepted_at: sql`now()` }).where("id", "=", row.id).execute();
  return { id: row.id, orgId: row.org_id, orgName: row.name, email: row.email, role: row.role as Role };
}

/** Deletes invitations that expired more than 30 days ago (accepted ones live on as memberships). */
export async function invitationsPrune(db: OwnerDatabase): Promise<number> {
  const result = await db.deleteFrom("app.invitations").where("expires_at", "<", sql<Date>`now() - interval '30 days'`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
