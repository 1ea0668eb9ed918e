import { createHash, randomBytes } from "node:crypto";

/**
 * Secrets handed to a browser or an email (session cookies, reset and invitation links): 32 random
 * bytes, url-safe. The database keeps only their sha256, so a leaked table cannot be replayed.
 */
export function newSecretToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
