import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/**
 * The role application queries run as (migrations/0001, 0009). It logs in as itself, owns nothing,
 * is a member of nothing and cannot bypass row-level security: SQL run on its connections cannot
 * SET ROLE to anything stronger, because there is no stronger session user behind it.
 */
export const APP_ROLE = "gpt_app";

/**
 * Where application (tenant) connections go when APP_DATABASE_URL is not set: the owner's server
 * and database, logging in as gpt_app with APP_DATABASE_PASSWORD (none: trust or peer auth, as on
 * a local development server). A pooler's tenant suffix is kept: Supavisor's `postgres.<project>`
 * becomes `gpt_app.<project>`.
 */
export function appDatabaseUrl(ownerUrl: string, password: string | undefined): string {
  const url = new URL(ownerUrl);
  const owner = decodeURIComponent(url.username);
  const dot = owner.indexOf(".");
  url.username = encodeURIComponent(dot > 0 ? `${APP_ROLE}${owner.slice(dot)}` : APP_ROLE);
  url.password = password === undefined ? "" : encodeURIComponent(password);
  return url.toString();
}

/**
 * A SCRAM-SHA-256 verifier for `password`, in the form PostgreSQL stores (RFC 5802/7677), so the
 * release step can set gpt_app's password without the clear text ever reaching the server, its
 * statement log or pg_stat_activity.
 */
export function scramSha256Verifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
