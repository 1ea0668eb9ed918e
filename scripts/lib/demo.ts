import { API_SCOPES } from "../../core/auth/api-token.ts";
import { apiTokenCreate, apiTokenResign } from "../../core/auth/api-tokens.ts";
import { createUser, userByEmail } from "../../core/accounts/users.ts";
import type { DatabaseHandles, OwnerDatabase } from "../../core/db/connect.ts";
import { withOrg } from "../../core/db/org-scope.ts";
import { organisationBySlug, organisationCreate, type Organisation } from "../../core/accounts/organisations.ts";

/** The local demo: an organisation, a user to sign in with, and an API token, reused across starts. */

export const DEMO_ORG_SLUG = "demo";
export const DEMO_EMAIL = "demo@example.com";
const DEMO_TOKEN_NAME = "npm start (local)";

export async function ensureDemoOrganisation(db: OwnerDatabase): Promise<{ organisation: Organisation; created: boolean }> {
  const existing = await organisationBySlug(db, DEMO_ORG_SLUG);
  if (existing) return { organisation: existing, created: false };
  try {
    return { organisation: await organisationCreate(db, { name: "Demo Organisation", slug: DEMO_ORG_SLUG }), created: true };
  } catch (error) {
    // 23505: another process seeded it between our lookup and insert.
    if ((error as { code?: string }).code !== "23505") throw error;
    return { organisation: (await organisationBySlug(db, DEMO_ORG_SLUG))!, created: false };
  }
}

/** demo@example.com as owner of the demo organisation; its password is set only when the user is created. */
export async function ensureDemoUser(db: OwnerDatabase, orgId: string, password: string): Promise<{ created: boolean }> {
  let user = await userByEmail(db, DEMO_EMAIL);
  const created = !user;
  user ??= await createUser(db, { email: DEMO_EMAIL, password, displayName: "Demo User" });
  await db
    .insertInto("app.memberships")
    .values({ org_id: orgId, user_id: user.id, role: "owner" })
    .onConflict((oc) => oc.columns(["org_id", "user_id"]).doNothing())
    .execute();
  return { created };
}

/** A JWT for the demo organisation's local token row, creating the row the first time. */
export async function demoApiToken(db: DatabaseHandles, secret: string, orgId: string): Promise<string> {
  return withOrg(db.app, orgId, async (trx) => {
    const existing = await trx
      .selectFrom("app.api_tokens")
      .select("id")
      .where("name", "=", DEMO_TOKEN_NAME)
      .where("revoked_at", "is", null)
      .orderBy("created_at", "desc")
      .executeTakeFirst();
    const resigned = existing && (await apiTokenResign(trx, secret, existing.id, "npm-start"));
    if (resigned) return resigned;
    const { token } = await apiTokenCreate(trx, secret, {
      orgId,
      name: DEMO_TOKEN_NAME,
      scopes: API_SCOPES,
      ttlDays: 90,
      createdBy: null,
      subject: "npm-start",
    });
    return token;
  });
}
