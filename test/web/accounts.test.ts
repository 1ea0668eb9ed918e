import { randomInt } from "node:crypto";
import { sql } from "kysely";
import t from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { testEnv } from "../helpers/test-env.ts";
import { awayFromWindowEnd } from "../helpers/wait.ts";
import { GOOD_PASSWORD, pageText, signUpClient, WebClient } from "../helpers/web-client.ts";
import { startWeb, type WebProcess } from "../helpers/web-process.ts";

async function userCount(db: TestDatabase): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM app.users`.execute(db.handles.owner);
  return Number(rows[0]!.n);
}

/** The one-time link the development mailer logged for `to` (the latest one). */
function mailedLink(web: WebProcess, to: string): string {
  const mail = web.logLines().filter((line) => (line.mail as { to?: string } | undefined)?.to === to).at(-1)?.mail as { body: string } | undefined;
  if (!mail) throw new Error(`no mail to ${to} in the log`);
  return new URL(/https?:\/\/\S+/.exec(mail.body)![0]).pathname;
}

t.test("sign up, sign out, sign in", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const browser = new WebClient(web.url);

  t.equal((await browser.get("/")).location, "/signin", "the start page sends strangers to sign in");
  t.equal((await browser.get("/dashboard")).location, "/signin?next=%2Fdashboard", "pages behind sign-in send you to it and back");

  await t.test("bad sign-ups are refused field by field and create nothing", async (t) => {
    const bad = await browser.submit("/signup", { displayName: "", email: "not-an-email", organisationName: "", password: "short" });
    t.equal(bad.status, 400);
    const text = pageText(bad.html);
    t.match(text, "Enter your name.");
    t.match(text, "Enter an email address like name@example.com.");
    t.match(text, "Name your organisation.");
    t.match(text, /at least 12 characters/i);
    const common = await browser.submit("/signup", { displayName: "A", email: "a@example.com", organisationName: "A", password: "password1234" });
    t.equal(common.status, 400);
    t.match(pageText(common.html), /breach|common|guess/i, "a common password is refused with a reason");
    const personal = await browser.submit("/signup", { displayName: "Ada Lovelace", email: "ada.lovelace@example.com", organisationName: "Analytical", password: "adalovelace-analytical" });
    t.equal(personal.status, 400, "a password made of the user's own details is refused");
    t.equal(await userCount(db), 0);
  });

  let firstSession = "";
  await t.test("a good sign-up creates the user, their organisation, and a session", async (t) => {
    const ok = await browser.submit("/signup", { displayName: "Ada", email: "Ada@Example.com", organisationName: "Engines Ltd", password: GOOD_PASSWORD });
    t.equal(ok.status, 302);
    t.equal(ok.location, "/dashboard");
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("gpt_session="))!;
    t.match(cookie, /HttpOnly/);
    t.match(cookie, /SameSite=Lax/);
    t.notMatch(cookie, /Secure/, "not Secure over plain http (it is when WEB_PUBLIC_URL is https)");
    firstSession = browser.cookies.get("gpt_session")!;
    const dashboard = await browser.get("/dashboard");
    t.equal(dashboard.status, 200);
    t.match(pageText(dashboard.html), "Engines Ltd: operations");
    const { rows } = await sql<{ email: string; role: string }>`
      SELECT u.email, m.role FROM app.users u JOIN app.memberships m ON m.user_id = u.id`.execute(db.handles.owner);
    t.same(rows, [{ email: "ada@example.com", role: "owner" }], "email normalised; the creator owns the organisation");
    const stored = await sql<{ password_hash: string }>`SELECT password_hash FROM app.users`.execute(db.handles.owner);
    t.match(stored.rows[0]!.password_hash, /^scrypt\$32768\$8\$1\$/, "the password is stored as a scrypt hash");
  });

  await t.test("the same email cannot sign up twice", async (t) => {
    const again = await new WebClient(web.url).submit("/signup", { displayName: "X", email: "ada@example.com", organisationName: "X", password: GOOD_PASSWORD });
    t.equal(again.status, 400);
    t.match(pageText(again.html), "An account with this email already exists.");
  });

  await t.test("sign-out revokes the session in the database, not just the cookie", async (t) => {
    await browser.get("/dashboard");
    const out = await browser.post("/signout", {});
    t.equal(out.location, "/signin");
    t.notOk(browser.cookies.has("gpt_session"), "the cookie is cleared");
    const replay = new WebClient(web.url);
    replay.cookies.set("gpt_session", firstSession);
    t.equal((await replay.get("/dashboard")).status, 302, "the old cookie no longer signs anyone in");
  });

  await t.test("sign-in: one answer for a wrong password and an unknown account; a fresh session on success", async (t) => {
    const wrong = await browser.submit("/signin", { email: "ada@example.com", password: "not-the-password-at-all" });
    const unknown = await browser.submit("/signin", { email: "nobody@example.com", password: GOOD_PASSWORD });
    t.equal(wrong.status, 400);
    t.equal(unknown.status, 400);
    t.match(pageText(wrong.html), "Email or password is incorrect.");
    t.match(pageText(unknown.html), "Email or password is incorrect.");
    const csrfBefore = browser.cookies.get("gpt_csrf");
    const ok = await browser.submit("/signin?next=%2Fjobs", { email: "ADA@example.com", password: GOOD_PASSWORD, next: "/jobs" });
    t.equal(ok.location, "/jobs", "back to where sign-in was asked for");
    t.not(browser.cookies.get("gpt_session"), firstSession, "a new session token");
    t.not(browser.cookies.get("gpt_csrf"), csrfBefore, "and a new CSRF cookie (nothing planted before sign-in survives)");
    const elsewhere = await new WebClient(web.url).submit("/signin", { email: "ada@example.com", password: GOOD_PASSWORD, next: "//evil.example/" });
    t.equal(elsewhere.location, "/dashboard", "never redirected to another site");
  });
});

for (const store of ["postgres", "redis"] as const) {
  t.test(`sign-in attempts are limited per email and per address (${store})`, async (t) => {
    const db = await createTestDatabase(t);
    const web = await startWeb(t, db, {
      SIGNIN_ATTEMPTS_PER_EMAIL: "3",
      SIGNIN_ATTEMPTS_PER_IP: "5",
      TRUST_PROXY: "true",
      ...(store === "redis" ? { REDIS_URL: testEnv.redisUrl } : {}),
    });
    // Redis is shared by every test run: a fresh address and email keep the counters this test's own.
    const address = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
    const email = `limited-${testEnv.runId}-${randomInt(1e9)}@example.com`;
    await signUpClient(web.url, { email }, { "x-forwarded-for": `192.0.2.${randomInt(1, 255)}` });
    const browser = new WebClient(web.url, { "x-forwarded-for": address });
    await awayFromWindowEnd(15 * 60, 60); // the sign-in window (web/app/lib/platform.server.ts)
    for (let attempt = 1; attempt <= 3; attempt++) {
      t.equal((await browser.submit("/signin", { email, password: "wrong-password-attempt" })).status, 400, `attempt ${attempt} is checked`);
    }
    const limited = await browser.submit("/signin", { email, password: GOOD_PASSWORD });
    t.equal(limited.status, 429, "the fourth attempt for this email is refused, even with the right password");
    const wait = Number(limited.headers.get("retry-after"));
    t.ok(wait > 0 && wait <= 900, `Retry-After within the 15-minute window (${wait})`);
    t.match(pageText(limited.html), new RegExp(`Try again in ${wait} s\\.`), "the page says how long to wait");
    const otherAddress = new WebClient(web.url, { "x-forwarded-for": "198.51.100.7" });
    t.equal((await otherAddress.submit("/signin", { email, password: GOOD_PASSWORD })).status, 429, "the email's limit holds from any address");

    // Per address: its three misses and the refused fourth all counted, so one more is allowed,
    // then the address is cut off whatever email it tries (password spraying).
    t.equal((await browser.submit("/signin", { email: `a-${email}`, password: "x-wrong-password" })).status, 400, "the address's fifth attempt");
    t.equal((await browser.submit("/signin", { email: `b-${email}`, password: "x-wrong-password" })).status, 429, "its sixth is refused");
  });
}

t.test("password reset by one-time link", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web.url, { email: "ada@example.com" });
  const other = new WebClient(web.url);

  const unknown = await other.submit("/forgot-password", { email: "nobody@example.com" });
  const known = await other.submit("/forgot-password", { email: "ada@example.com" });
  t.equal(unknown.status, 200);
  t.equal(pageText(unknown.html), pageText(known.html), "the same answer whether or not the account exists");
  t.notOk(web.logLines().some((line) => (line.mail as { to?: string } | undefined)?.to === "nobody@example.com"), "no mail for an unknown address");
  const link = mailedLink(web, "ada@example.com");
  t.match(link, /^\/reset-password\/[A-Za-z0-9_-]{30,}$/);

  const weak = await other.submit(link, { password: "short" });
  t.equal(weak.status, 400, "the new password meets the same policy");
  const changed = await other.submit(link, { password: "another-Strong-passphrase-77" });
  t.equal(changed.location, "/signin?reset=1");
  t.equal((await ada.get("/dashboard")).status, 302, "every session of the account was signed out");
  t.match(pageText((await other.get(link)).html), "This link no longer works", "the link works once");
  await other.get("/forgot-password");
  const second = await other.post(link, { password: "yet-another-Strong-pass-88" });
  t.equal(second.status, 400, "and refuses a second use");
  t.match(pageText(second.html), "This link no longer works");
  t.equal((await new WebClient(web.url).submit("/signin", { email: "ada@example.com", password: GOOD_PASSWORD })).status, 400, "the old password is gone");
  t.equal((await new WebClient(web.url).submit("/signin", { email: "ada@example.com", password: "another-Strong-passphrase-77" })).location, "/dashboard");
  t.notOk(
    web.logLines().some((line) => line.msg === "request" && String(line.path).includes(link.split("/")[2]!)),
    "request log lines never carry the reset token",
  );
});

t.test("members are invited by link with a role, and switch between organisations", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const owner = await signUpClient(web.url, { email: "owner@example.com", organisationName: "Acme" });
  const bob = await signUpClient(web.url, { email: "bob@example.com", organisationName: "Bob's Own" });

  const invited = await owner.submit("/members", { intent: "invite", email: "bob@example.com", role: "member" });
  t.equal(invited.status, 200, pageText(invited.html).slice(0, 300));
  const link = mailedLink(web, "bob@example.com");
  t.match(link, /^\/invite\//);

  const stranger = await signUpClient(web.url, { email: "mallory@example.com" });
  t.match(pageText((await stranger.get(link)).html), "You are signed in as mallory@example.com. Sign out and sign in as bob@example.com to accept.");
  await stranger.get("/dashboard");
  const refused = await stranger.post(link, { intent: "accept" });
  t.equal(refused.status, 400, "a forwarded link is no use to another account");
  t.match(pageText(refused.html), "this invitation is for bob@example.com; sign in with that address to accept it");

  const accepted = await bob.submit(link, { intent: "accept" });
  t.equal(accepted.status, 302, pageText(accepted.html).slice(0, 300));
  const { rows } = await sql<{ name: string; role: string }>`
    SELECT o.name, m.role FROM app.memberships m JOIN app.organisations o ON o.id = m.org_id
    JOIN app.users u ON u.id = m.user_id WHERE u.email = 'bob@example.com' ORDER BY o.name`.execute(db.handles.owner);
  t.same(rows, [{ name: "Acme", role: "member" }, { name: "Bob's Own", role: "owner" }]);

  const acme = rows.length === 2 ? (await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name = 'Acme'`.execute(db.handles.owner)).rows[0]!.id : "";
  await bob.get("/dashboard");
  const switched = await bob.post("/switch-organisation", { orgId: acme, next: "/dashboard" }, { follow: true });
  t.match(pageText(switched.html), "Acme: operations", "bob now works in Acme");
  const tokens = await bob.submit("/tokens", { name: "mine", scopes: "jobs:read", ttlDays: "7" });
  t.equal(tokens.status, 403, "a member cannot create API tokens");
  const notMine = await bob.post("/switch-organisation", { orgId: (await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name LIKE 'Org of mallory%'`.execute(db.handles.owner)).rows[0]!.id });
  t.equal(notMine.status, 403, "nobody switches into an organisation they do not belong to");

  const header = await bob.get("/dashboard");
  t.match(header.html, 'href="/organisations/new"', "the header offers a new organisation");
  const unnamed = await bob.submit("/organisations/new", { organisationName: "" });
  t.equal(unnamed.status, 400);
  t.match(pageText(unnamed.html), "Name your organisation.");
  const created = await bob.submit("/organisations/new", { organisationName: "Bob Labs" }, { follow: true });
  t.match(pageText(created.html), "Bob Labs: operations", "a new organisation opens on its dashboard");
  const owned = await sql<{ role: string }>`
    SELECT m.role FROM app.memberships m JOIN app.organisations o ON o.id = m.org_id
    JOIN app.users u ON u.id = m.user_id WHERE u.email = 'bob@example.com' AND o.name = 'Bob Labs'`.execute(db.handles.owner);
  t.same(owned.rows, [{ role: "owner" }], "its creator owns it");
});
