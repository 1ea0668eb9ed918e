import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { OwnerDatabase } from "../db/connect.ts";
import type { OrgTransaction } from "../db/org-scope.ts";
import { signApiToken, type ApiScope } from "./api-token.ts";

/**
 * API tokens as rows (app.api_tokens): created in an organisation's scope and shown once, listed,
 * revoked. Revoking notifies every worker (channel below) so the token stops working at once.
 */

export const API_TOKEN_REVOKED_CHANNEL = "gpt_api_token_revoked";

export interface ApiTokenView {
  id: string;
  name: string;
  scopes: ApiScope[];
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  createdBy: string | null;
}

export async function apiTokenCreate(
  trx: OrgTransaction,
  secret: string,
  input: { orgId: string; name: string; scopes: readonly ApiScope[]; ttlDays: number; createdBy: string | null; subject: string },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const id = randomUUID();
  // The lifetime is counted here, not by the database clock, so the JWT's exp − iat is exactly the
  // requested number of days and the row's expires_at matches it to the second.
  const ttlSeconds = input.ttlDays * 24 * 3600;
  const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + ttlSeconds * 1000);
  await trx
    .insertInto("app.api_tokens")
    .values({ id, org_id: input.orgId, name: input.name, scopes: [...input.scopes], created_by: input.createdBy, expires_at: expiresAt })
    .execute();
  const token = signApiToken(secret, { orgId: input.orgId, subject: input.subject, scopes: input.scopes, ttlSeconds, jti: id });
  return { id, token, expiresAt };
}

export async function apiTokensList(trx: OrgTransaction): Promise<ApiTokenView[]> {
  const rows = await trx.selectFrom("app.api_tokens").selectAll().orderBy("created_at", "desc").limit(200).execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    scopes: r.scopes as ApiScope[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    createdBy: r.created_by,
  }));
}

/** Revokes a token of the current organisation; the NOTIFY goes out when the transaction commits. */
export async function apiTokenRevoke(trx: OrgTransaction, id: string): Promise<boolean> {
  const result = await trx
    .updateTable("app.api_tokens")
    .set({ revoked_at: sql`now()` })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  await sql`SELECT pg_notify(${API_TOKEN_REVOKED_CHANNEL}, ${id})`.execute(trx);
  return true;
}

/**
 * Token `jti`'s organisation and whether it may be used (exists, not revoked, not expired), or
 * undefined when there is no such token (operator read: the token names its organisation, which
 * is checked against this, never taken from it).
 */
export async function apiTokenState(db: OwnerDatabase, jti: string): Promise<{ orgId: string; active: boolean } | undefined> {
  const row = await db
    .selectFrom("app.api_tokens")
    .select(["org_id", sql<boolean>`revoked_at IS NULL AND expires_at > now()`.as("active")])
    .where("id", "=", jti)
    .executeTakeFirst();
  return row && { orgId: row.org_id, active: row.active };
}

/**
 * A fresh JWT for an existing live token row (same id, same scopes, its remaining lifetime): for
 * operator tools holding JWT_SECRET, such as npm start reprinting its local token. Revoking the row
 * still revokes every JWT naming it.
 */
export async function apiTokenResign(trx: OrgTransaction, secret: string, id: string, subject: string): Promise<string | undefined> {
  const row = await trx
    .selectFrom("app.api_tokens")
    .select(["org_id", "scopes", "expires_at"])
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql<Date>`now() + interval '1 day'`)
    .executeTakeFirst();
  if (!row) return undefined;
  const ttlSeconds = Math.floor((row.expires_at.getTime() - Date.now()) / 1000);
  return signApiToken(secret, { orgId: row.org_id, subject, scopes: row.scopes as ApiScope[], ttlSeconds, jti: id });
}
