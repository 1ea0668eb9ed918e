import { mailedLink, type WebProcess } from "./web-process.ts";
/**
 * A browser without JavaScript, for the web app's HTTP tests: keeps cookies, sends forms the way a
 * plain HTML form posts them (with the CSRF field scraped from the page and the page's Origin),
 * and follows redirects when asked.
 */

export interface WebResponse {
  status: number;
  headers: Headers;
  html: string;
  /** Where a redirect points (path), if it is one. */
  location: string | null;
}

export interface PostOptions {
  /** Leave out the CSRF field (to prove the refusal), or send this value instead. */
  csrf?: false | string;
  /** The Origin header; defaults to the app's own. */
  origin?: string;
  /** Follow a redirect answer with GETs, as a browser does. */
  follow?: boolean;
}

export class WebClient {
  readonly base: string;
  readonly cookies = new Map<string, string>();
  readonly #headers: Record<string, string>;
  #csrf: string | undefined;

  /** `headers` go on every request (e.g. X-Forwarded-For, to act as a distinct client address). */
  constructor(base: string, headers: Record<string, string> = {}) {
    this.base = base;
    this.#headers = headers;
  }

  /** The CSRF token of the last page fetched (forms embed it). */
  get csrfToken(): string | undefined {
    return this.#csrf;
  }

  async get(path: string, options: { follow?: boolean } = {}): Promise<WebResponse> {
    const response = await this.#send(path, { method: "GET" });
    return options.follow ? this.#follow(response) : response;
  }

  /** Loads the page (as someone about to fill in its form would), then posts `fields` to it. */
  async submit(path: string, fields: Record<string, string | string[]>, options: PostOptions = {}): Promise<WebResponse> {
    await this.get(path);
    return this.post(path, fields, options);
  }

  /** Posts `fields` to `path` with the CSRF token of the last page fetched. */
  async post(path: string, fields: Record<string, string | string[]>, options: PostOptions = {}): Promise<WebResponse> {
    const body = new URLSearchParams();
    const csrf = options.csrf === undefined ? this.#csrf : options.csrf;
    if (csrf !== false && csrf !== undefined) body.append("_csrf", csrf);
    for (const [key, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : [value]) body.append(key, v);
    }
    const response = await this.#send(path, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: options.origin ?? this.base },
    });
    return options.follow ? this.#follow(response) : response;
  }

  async #follow(response: WebResponse): Promise<WebResponse> {
    let current = response;
    for (let hops = 0; current.location && hops < 5; hops++) current = await this.#send(current.location, { method: "GET" });
    return current;
  }

  async #send(path: string, init: RequestInit): Promise<WebResponse> {
    const headers = new Headers({ ...this.#headers, ...(init.headers as Record<string, string> | undefined) });
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const response = await fetch(new URL(path, this.base), { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, ...rest] = pair!.split("=");
      const value = rest.join("=");
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (expired) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value);
    }
    const html = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token) this.#csrf = token;
    const location = response.headers.get("location");
    return {
      status: response.status,
      headers: response.headers,
      html,
      location: location ? new URL(location, this.base).pathname + new URL(location, this.base).search : null,
    };
  }
}

/** The visible text of an HTML page, tags removed and whitespace collapsed (for readable asserts). */
export function pageText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, " ")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/\s+/g, " ")
    .trim();
}

/** A password the policy accepts (long, not in breached lists, not guessable). */
export const GOOD_PASSWORD = "violet-Harbor-92-quietly-ferns";

/** Signs up through the web form and returns the signed-in client (fails the test loudly if refused). */
/** Signs up as a person would: the form, the mailed link, the confirmation. Returns the signed-in client. */
export async function signUpClient(
  web: WebProcess,
  input: { email: string; organisationName?: string; displayName?: string },
  headers: Record<string, string> = {},
): Promise<WebClient> {
  const client = new WebClient(web.url, headers);
  const response = await client.submit("/signup", {
    displayName: input.displayName ?? "Test Person",
    email: input.email,
    organisationName: input.organisationName ?? `Org of ${input.email}`,
    password: GOOD_PASSWORD,
  });
  if (response.status !== 200 || !/Check your inbox/.test(response.html)) {
    throw new Error(`sign-up of ${input.email} answered ${response.status}: ${pageText(response.html).slice(0, 400)}`);
  }
  const confirmed = await client.submit(await mailedLink(web, input.email, /Finish creating/), {});
  if (confirmed.status !== 302)
    throw new Error(`confirming the sign-up of ${input.email} answered ${confirmed.status}: ${pageText(confirmed.html).slice(0, 400)}`);
  return client;
}
