import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { OwnerDatabase, OwnerHandle } from "../db/connect.ts";
import { organisationCreateWithOwner } from "./organisations.ts";
import { hashPassword } from "./passwords.ts";

/**
 * People and their organisations. Functions here take the owner handle on purpose: signing up and
 * signing in happen before any organisation scope exists. Everything after sign-in goes through
 * withOrg and row-level security.
 */

export type Role = "owner" | "admin" | "member";

export interface User {
  id: string;
  email: string;
  displayName: string | null;
  passwordHash: string | null;
}

export interface Membership {
  orgId: string;
  orgName: string;
  orgSlug: string;
  role: Role;
}

export class AccountExistsError extends Error {
  constructor() {
    super("an account with this email already exists");
    this.name = "AccountExistsError";
  }
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function userByEmail(db: OwnerDatabase, email: string): Promise<User | undefined> {
  const row = await db
    .selectFrom("app.users")
    .select(["id", "email", "display_name", "password_hash"])
    .where(sql<string>`lower(email)`, "=", normaliseEmail(email))
    .executeTakeFirst();
  return row && { id: row.id, email: row.email, displayName: row.display_name, passwordHash: row.password_hash };
}

export async function userById(db: OwnerDatabase, id: string): Promise<User | undefined> {
  const row = await db
    .selectFrom("app.users")
    .select(["id", "email", "display_name", "password_hash"])
    .where("id", "=", id)
    .executeTakeFirst();
  return row && { id: row.id, email: row.email, displayName: row.display_name, passwordHash: row.password_hash };
}

/** The user's organisations, oldest membership first. */
export async function membershipsOfUser(db: OwnerDatabase, userId: string): Promise<Membership[]> {
  const rows = await db
    .selectFrom("app.memberships as m")
    .innerJoin("app.organisations as o", "o.id", "m.org_id")
    .select(["o.id", "o.name", "o.slug", "m.role"])
    .where("m.user_id", "=", userId)
    .orderBy("m.created_at")
    .execute();
  return rows.map((r) => ({ orgId: r.id, orgName: r.name, orgSlug: r.slug, role: r.role as Role }));
}

/** A URL-safe slug for an organisation name, unique thanks to a random suffix. */
export function slugFor(name: string): string {
  const base =
    name
      .normalize("NFKD")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "org";
  return `${base}-${randomBytes(3).toString("hex")}`;
}

export interface SignUp {
  email: string;
  password: string;
  displayName: string;
  organisationName: string;
}

/** Creates the user, their first organisation and their owner membership, all or nothing. */
export async function signUp(db: OwnerDatabase, input: SignUp): Promise<{ user: User; orgId: string }> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction().execute(async (trx) => {
    const user = await userInsert(trx, { email: input.email, displayName: input.displayName, passwordHash });
    const organisation = await organisationCreateWithOwner(trx, {
      name: input.organisationName,
      slug: slugFor(input.organisationName),
      ownerId: user.id,
    });
    return { user, orgId: organisation.id };
  });
}

/** A user without an organisation of their own yet (someone accepting an invitation). */
export async function createUser(db: OwnerDatabase, input: { email: string; password: string; displayName: string }): Promise<User> {
  return userInsert(db, { email: input.email, displayName: input.displayName, passwordHash: await hashPassword(input.password) });
}

/** Inserts an account whose password is already hashed; AccountExistsError when the address is taken. */
export async function userInsert(db: OwnerHandle, input: { email: string; displayName: string; passwordHash: string }): Promise<User> {
  try {
    const row = await db
      .insertInto("app.users")
      .values({
        email: normaliseEmail(input.email),
        display_name: input.displayName,
        password_hash: input.passwordHash,
        password_changed_at: sql`now()`,
      })
      .returning(["id", "email", "display_name", "password_hash"])
      .executeTakeFirstOrThrow();
    return { id: row.id, email: row.email, displayName: row.display_name, passwordHash: row.password_hash };
  } catch (error) {
    if ((error as { code?: string; constraint?: string }).constraint === "users_email_lower_key") throw new AccountExistsError();
    throw error;
  }
}

export async function setPassword(db: OwnerDatabase, userId: string, password: string): Promise<void> {
  await db
    .updateTable("app.users")
    .set({ password_hash: await hashPassword(password), password_changed_at: sql`now()`, updated_at: sql`now()` })
    .where("id", "=", userId)
    .execute();
}
