import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readCookie, serializeCookie, SESSION_COOKIE } from "./cookies.server.ts";
import { getPlatform } from "./platform.server.ts";

/**
 * CSRF protection for every mutation. A random cookie (gpt_csrf, httpOnly, SameSite=Lax) is paired
 * with a form field carrying HMAC(SESSION_SECRET, cookie and session): another site can make a
 * browser send the cookies but cannot read them or compute the field. The token is bound to the
 * signed-in session too, so a CSRF cookie planted in the victim's browser (from a sibling
 * subdomain, say) together with a token the attacker minted for it is still refused. (Posts with a
 * foreign Origin header never get here: web/server.ts refuses them.) The cookie is renewed at
 * sign-in and sign-out.
 */

export const CSRF_COOKIE = "gpt_csrf";
export const CSRF_FIELD = "_csrf";

export function newCsrfCookie(secure: boolean): string {
  return serializeCookie(CSRF_COOKIE, randomBytes(24).toString("base64url"), { secure, maxAgeSeconds: 365 * 24 * 3600 });
}

function tokenFor(secret: string, cookie: string, request: Request): string {
  // The session's cookie is a secret of the victim's; its hash keeps the HMAC input short.
  const session = readCookie(request, SESSION_COOKIE);
  const sessionKey = session ? createHash("sha256").update(session).digest("base64url") : "none";
  return createHmac("sha256", secret).update(`csrf:${cookie}:${sessionKey}`).digest("base64url");
}

/**
 * The form token for this request, and a Set-Cookie when the browser has no CSRF cookie yet
 * (the root loader adds it to every page).
 */
export async function csrfForRequest(request: Request): Promise<{ token: string; setCookie?: string }> {
  const { config } = await getPlatform();
  const existing = readCookie(request, CSRF_COOKIE);
  if (existing) return { token: tokenFor(config.SESSION_SECRET, existing, request) };
  const setCookie = newCsrfCookie(config.WEB_PUBLIC_URL.startsWith("https://"));
  const value = decodeURIComponent(setCookie.split(";")[0]!.split("=")[1]!);
  return { token: tokenFor(config.SESSION_SECRET, value, request), setCookie };
}

/** A Response (not data()): resource routes such as sign-out must be able to throw it too. */
function refuse(message: string): never {
  throw Response.json({ error: message }, { status: 403, statusText: "Forbidden" });
}

/** Throws a 403 unless the request carries a valid CSRF token. */
export async function verifyCsrf(request: Request, form: FormData): Promise<void> {
  const { config } = await getPlatform();
  const cookie = readCookie(request, CSRF_COOKIE);
  const field = form.get(CSRF_FIELD);
  if (!cookie || typeof field !== "string") refuse("The form's security token is missing. Reload the page and try again.");
  const expected = Buffer.from(tokenFor(config.SESSION_SECRET, cookie, request));
  const given = Buffer.from(field);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    refuse("The form's security token is out of date (perhaps you signed in or out in another tab). Reload the page and try again.");
  }
}

/** Reads a mutation's form after checking its CSRF token: the one way actions get their input. */
export async function readMutation(request: Request): Promise<FormData> {
  const form = await request.formData();
  await verifyCsrf(request, form);
  return form;
}
