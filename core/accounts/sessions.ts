import { sql } from "kysely";
import { SESSION_LIFETIME_DAYS } from "./constants.ts";
import type { OwnerDatabase } from "../db/connect.ts";
import { hashToken, newSecretToken } from "./tokens.ts";
import { membershipsOfUser, type Membership, type Role } from "./users.ts";

/**
 * Server-side sessions. The browser holds a random token in an httpOnly cookie; the table holds
 * its sha256, the user and the organisation they are working in. A session ends at its expiry, at
 * sign-out (revoked), or when the user resets their password (all of theirs are revoked).
 */

/** last_seen_at is refreshed at most this often, so a page view is not a write. */
const TOUCH_AFTER_MS = 5 * 60_000;

export interface SessionContext {
  sessionId: string;
  user: {
    id: string;
    email: string;
    displayName: string | null;
    /** Named in ops.platform_operators (migrations/0017): may open the operator-only pages. */
    isPlatformOperator: boolean;
  };
  /** The organisation the user is working in; null only for a user who belongs to none. */
  org: Membership | null;
  memberships: Membership[];
}

export async function sessionCreate(
  db: OwnerDatabase,
  input: { userId: string; orgId: string | null; userAgent: string | null },
): Promise<{ token: string; expiresAt: Date }> {
  const { token, hash } = newSecretToken();
  const row = await db
    .insertInto("app.sessions")
    .values({
      token_hash: hash,
      user_id: input.userId,
      current_org_id: input.orgId,
      user_agent: input.userAgent?.slice(0, 500) ?? null,
      expires_at: sql<Date>`now() + make_interval(days => ${SESSION_LIFETIME_DAYS})`,
    })
    .returning("expires_at")
    .executeTakeFirstOrThrow();
  return { token, expiresAt: row.expires_at };
}

/** The live session for a cookie token, with the user and their organisations; undefined when none. */
export async function sessionByToken(db: OwnerDatabase, token: string): Promise<SessionContext | undefined> {
  const row = await db
    .selectFrom("app.sessions as s")
    .innerJoin("app.users as u", "u.id", "s.user_id")
    .select(["s.id", "s.current_org_id", "s.last_seen_at", "u.id as user_id", "u.email", "u.display_name"])
    // Read here, with the user, rather than by each page that needs it: the layout shows the
    // operator link on every page. Only the owner can read or write this table.
    .select(sql<boolean>`EXISTS (SELECT 1 FROM ops.platform_operators o WHERE o.user_id = u.id)`.as("is_platform_operator"))
    .where("s.token_hash", "=", hashToken(token))
    .where("s.revoked_at", "is", null)
    .where("s.expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
  if (!row) return undefined;
  const memberships = await membershipsOfUser(db, row.user_id);
  const org = memberships.find((m) => m.orgId === row.current_org_id) ?? memberships[0] ?? null;
  if (Date.now() - row.last_seen_at.getTime() > TOUCH_AFTER_MS || (org && org.orgId !== row.current_org_id)) {
    await db
      .updateTable("app.sessions")
      .set({ last_seen_at: sql`now()`, current_org_id: org?.orgId ?? null })
      .where("id", "=", row.id)
      .execute();
  }
  return {
    sessionId: row.id,
    user: { id: row.user_id, email: row.email, displayName: row.display_name, isPlatformOperator: row.is_platform_operator },
    org,
    memberships,
  };
}

/** Switches the session's organisation; refused (false) unless the user is a member (checked in the database). */
export async function sessionSwitchOrg(db: OwnerDatabase, session: SessionContext, orgId: string): Promise<boolean> {
  const result = await db
    .updateTable("app.sessions")
    .set({ current_org_id: orgId })
    .where("id", "=", session.sessionId)
    .where((eb) =>
      eb.exists(eb.selectFrom("app.memberships").select("org_id").where("org_id", "=", orgId).where("user_id", "=", session.user.id)),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function sessionRevoke(db: OwnerDatabase, sessionId: string): Promise<void> {
  await db
    .updateTable("app.sessions")
    .set({ revoked_at: sql`now()` })
    .where("id", "=", sessionId)
    .where("revoked_at", "is", null)
    .execute();
}

export async function sessionsRevokeForUser(db: OwnerDatabase, userId: string): Promise<number> {
  const result = await db
    .updateTable("app.sessions")
    .set({ revoked_at: sql`now()` })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Deletes sessions that ended more than a day ago. */
export async function sessionsPrune(db: OwnerDatabase): Promise<number> {
  const result = await db
    .deleteFrom("app.sessions")
    .where((eb) =>
      eb.or([eb("expires_at", "<", sql<Date>`now() - interval '1 day'`), eb("revoked_at", "<", sql<Date>`now() - interval '1 day'`)]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export function canManage(role: Role | undefined): boolean {
  return role === "owner" || role === "admin";
}
