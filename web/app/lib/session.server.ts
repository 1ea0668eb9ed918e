import { redirect } from "@remix-run/node";
import { SESSION_LIFETIME_DAYS } from "../../../core/accounts/constants.ts";
import { sessionByToken, sessionCreate, type SessionContext } from "../../../core/accounts/sessions.ts";
import type { Membership } from "../../../core/accounts/users.ts";
import { clearCookie, readCookie, serializeCookie, SESSION_COOKIE } from "./cookies.server.ts";
import { newCsrfCookie } from "./csrf.server.ts";
import { getPlatform } from "./platform.server.ts";

export { SESSION_COOKIE };

/** Whether cookies get the Secure flag: the app's public URL says whether it is served over https. */
export async function secureCookies(): Promise<boolean> {
  return (await getPlatform()).config.WEB_PUBLIC_URL.startsWith("https://");
}

const cache = new WeakMap<Request, Promise<SessionContext | undefined>>();

/** The signed-in session behind this request, looked up once per request. */
export function getSession(request: Request): Promise<SessionContext | undefined> {
  let found = cache.get(request);
  if (!found) {
    found = (async () => {
      const token = readCookie(request, SESSION_COOKIE);
      if (!token) return undefined;
      return sessionByToken((await getPlatform()).db.owner, token);
    })();
    cache.set(request, found);
  }
  return found;
}

/** The session, or a redirect to sign in that comes back here afterwards. */
export async function requireSession(request: Request): Promise<SessionContext> {
  const session = await getSession(request);
  if (session) return session;
  const url = new URL(request.url);
  throw redirect(`/signin?next=${encodeURIComponent(url.pathname + url.search)}`);
}

export interface OrgSession extends SessionContext {
  org: Membership;
}

/** A session working in an organisation (everything behind sign-in except creating a first one). */
export async function requireOrgSession(request: Request): Promise<OrgSession> {
  const session = await requireSession(request);
  if (!session.org) throw redirect("/organisations/new");
  return session as OrgSession;
}

/**
 * Signs a user in: a new session (a fresh token, never a reused one) and a fresh CSRF cookie, so
 * nothing an attacker planted before sign-in survives it.
 */
export async function startSession(request: Request, userId: string, orgId: string | null): Promise<Headers> {
  const { db } = await getPlatform();
  const { token } = await sessionCreate(db.owner, { userId, orgId, userAgent: request.headers.get("user-agent") });
  const secure = await secureCookies();
  const headers = new Headers();
  headers.append("set-cookie", serializeCookie(SESSION_COOKIE, token, { secure, maxAgeSeconds: SESSION_LIFETIME_DAYS * 24 * 3600 }));
  headers.append("set-cookie", newCsrfCookie(secure));
  return headers;
}

export async function endSessionHeaders(): Promise<Headers> {
  const secure = await secureCookies();
  const headers = new Headers();
  headers.append("set-cookie", clearCookie(SESSION_COOKIE, secure));
  headers.append("set-cookie", newCsrfCookie(secure));
  return headers;
}

const LOCAL = "http://local.invalid";

/**
 * Where to go after signing in: a path on this site only, never another site. Browsers drop tabs
 * and newlines from URLs and read a backslash as a slash, so "/\t/evil.example" or "/\\evil"
 * would become "//evil.example"; such characters are refused outright, and what is left must
 * resolve to this origin.
 */
export function safeNext(value: FormDataEntryValue | string | null | undefined): string {
  const next = typeof value === "string" ? value : "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  if (!/^\/(?![/\\])[^\s\\\x00-\x1f\x7f]*$/.test(next)) return "/dashboard";
  const url = new URL(next, LOCAL);
  return url.origin === LOCAL ? `${url.pathname}${url.search}${url.hash}` : "/dashboard";
}
