import { sql } from "kysely";
import { RESET_LIFETIME_MINUTES } from "./constants.ts";
import type { OwnerDatabase } from "../db/connect.ts";
import { sessionsRevokeForUser } from "./sessions.ts";
import { hashToken, newSecretToken } from "./tokens.ts";
import { setPassword, userByEmail, type User } from "./users.ts";

/** One-time password reset links: valid for an hour, once; using one signs the user out everywhere. */

export class ResetTokenInvalidError extends Error {
  constructor() {
    super("this reset link is invalid, expired or already used; ask for a new one");
    this.name = "ResetTokenInvalidError";
  }
}

/** A reset token for the account with this email, or undefined when there is none (the caller must not say which). */
export async function passwordResetRequest(db: OwnerDatabase, email: string): Promise<{ token: string; user: User } | undefined> {
  const user = await userByEmail(db, email);
  if (!user) return undefined;
  const { token, hash } = newSecretToken();
  await db
    .insertInto("app.password_resets")
    .values({ user_id: user.id, token_hash: hash, expires_at: sql<Date>`now() + make_interval(mins => ${RESET_LIFETIME_MINUTES})` })
    .execute();
  return { token, user };
}

/** Whether a reset token can still be used (to show the form or explain why not). */
export async function passwordResetIsValid(db: OwnerDatabase, token: string): Promise<boolean> {
  const row = await db
    .selectFrom("app.password_resets")
    .select("id")
    .where("token_hash", "=", hashToken(token))
    .where("used_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
  return row !== undefined;
}

/** Sets the new password, spends the token (and any other of the user's), and ends every session of the user. */
export async function passwordResetComplete(db: OwnerDatabase, token: string, newPassword: string): Promise<{ userId: string }> {
  const reset = await db
    .updateTable("app.password_resets")
    .set({ used_at: sql`now()` })
    .where("token_hash", "=", hashToken(token))
    .where("used_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .returning("user_id")
    .executeTakeFirst();
  if (!reset) throw new ResetTokenInvalidError();
  // Every other link of this user is spent too: an older mail must not reset the new password.
  await db
    .updateTable("app.password_resets")
    .set({ used_at: sql`now()` })
    .where("user_id", "=", reset.user_id)
    .where("used_at", "is", null)
    .execute();
  await setPassword(db, reset.user_id, newPassword);
  await sessionsRevokeForUser(db, reset.user_id);
  return { userId: reset.user_id };
}

/** Deletes reset tokens that were used or expired more than a day ago. */
export async function passwordResetsPrune(db: OwnerDatabase): Promise<number> {
  const result = await db
    .deleteFrom("app.password_resets")
    .where("expires_at", "<", sql<Date>`now() - interval '1 day'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
