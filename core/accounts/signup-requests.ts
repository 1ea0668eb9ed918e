import { sql } from "kysely";
import type { OwnerDatabase, OwnerHandle } from "../db/connect.ts";
import { SIGNUP_LINK_LIFETIME_HOURS } from "./constants.ts";
import { invitationAcceptPending } from "./invitations.ts";
import { organisationCreateWithOwner } from "./organisations.ts";
import { hashPassword } from "./passwords.ts";
import { hashToken, newSecretToken } from "./tokens.ts";
import { normaliseEmail, slugFor, userByEmail, userInsert, type User } from "./users.ts";

/**
 * Creating an account waits for a link sent to its address (migrations/0010), so that the answer
 * to "create an account for this address" is the same whether or not it already has one: the
 * address's owner learns which from their inbox, nobody else learns anything.
 */

export class SignupLinkInvalidError extends Error {
  constructor() {
    super("this link is invalid, expired or already used; start again to get a new one");
    this.name = "SignupLinkInvalidError";
  }
}

/** What the account comes with: a new organisation it owns, or an invitation it accepts. */
export type SignupPurpose = { organisationName: string; invitationId?: undefined } | { invitationId: string; organisationName?: undefined };

export type SignupRequestInput = { email: string; displayName: string; password: string } & SignupPurpose;

/**
 * Records a request and returns its link token, or `accountExists` when the address already has an
 * account (the caller mails a note instead). The password is hashed either way, so both answers
 * take the same time.
 */
export async function signupRequestCreate(
  db: OwnerDatabase,
  input: SignupRequestInput,
): Promise<{ token: string } | { accountExists: true }> {
  const passwordHash = await hashPassword(input.password);
  if (await userByEmail(db, input.email)) return { accountExists: true };
  const { token, hash } = newSecretToken();
  await db
    .insertInto("app.signup_requests")
    .values({
      email: normaliseEmail(input.email),
      display_name: input.displayName,
      password_hash: passwordHash,
      organisation_name: input.organisationName ?? null,
      invitation_id: input.invitationId ?? null,
      token_hash: hash,
      expires_at: sql<Date>`now() + make_interval(hours => ${SIGNUP_LINK_LIFETIME_HOURS})`,
    })
    .execute();
  return { token };
}

export interface PendingSignup {
  email: string;
  displayName: string;
  /** The organisation the account will own, or the one whose invitation it accepts. */
  organisationName: string;
  joinsByInvitation: boolean;
}

/** The open request behind a link, to show what confirming it will do; undefined when it cannot be used. */
export async function signupRequestByToken(db: OwnerHandle, token: string): Promise<PendingSignup | undefined> {
  const row = await db
    .selectFrom("app.signup_requests as r")
    .leftJoin("app.invitations as i", "i.id", "r.invitation_id")
    .leftJoin("app.organisations as o", "o.id", "i.org_id")
    .select(["r.email", "r.display_name", "r.organisation_name", "o.name as invited_to"])
    .where("r.token_hash", "=", hashToken(token))
    .where("r.used_at", "is", null)
    .where("r.expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    email: row.email,
    displayName: row.display_name,
    organisationName: row.organisation_name ?? row.invited_to ?? "",
    joinsByInvitation: row.organisation_name === null,
  };
}

/**
 * Spends the link and creates the account with what the request holds: its own organisation, or
 * membership through the invitation. AccountExistsError when the address registered meanwhile.
 */
export async function signupRequestComplete(db: OwnerDatabase, token: string): Promise<{ user: User; orgId: string }> {
  return db.transaction().execute(async (trx) => {
    const request = await trx
      .updateTable("app.signup_requests")
      .set({ used_at: sql`now()` })
      .where("token_hash", "=", hashToken(token))
      .where("used_at", "is", null)
      .where("expires_at", ">", sql<Date>`now()`)
      .returning(["email", "display_name", "password_hash", "organisation_name", "invitation_id"])
      .executeTakeFirst();
    if (!request) throw new SignupLinkInvalidError();
    const user = await userInsert(trx, { email: request.email, displayName: request.display_name, passwordHash: request.password_hash });
    if (request.organisation_name !== null) {
      const organisation = await organisationCreateWithOwner(trx, {
        name: request.organisation_name,
        slug: slugFor(request.organisation_name),
        ownerId: user.id,
      });
      return { user, orgId: organisation.id };
    }
    const invitation = await invitationAcceptPending(trx, request.invitation_id!, user);
    return { user, orgId: invitation.orgId };
  });
}

/** Deletes requests that were used or expired more than a day ago. */
export async function signupRequestsPrune(db: OwnerDatabase): Promise<number> {
  const result = await db
    .deleteFrom("app.signup_requests")
    .where("expires_at", "<", sql<Date>`now() - interval '1 day'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
